"""The UI's WebSocket on a server with an API token, in Chromium: the token travels as a
subprotocol (never in the URL), the socket is served, and the server's log never shows it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import random_model

from .conftest import ROOT, chromium_args, free_port

pytestmark = pytest.mark.browser

TOKEN = "browser-Secret_42"


def test_ui_websocket_with_a_token(chromium_path: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    random_model(tmp_path / "data" / "models" / "test_word", "test_word")
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "WAKEBUILDER_API_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wakebuilder.cli.main", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(tmp_path / "data"), "--log-level", "info"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium_path), headless=True,
                                        args=chromium_args(None))
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")  # stored, then dropped
            page.wait_for_selector("body[data-ready=true]", state="attached", timeout=15_000)
            assert "token" not in page.url
            out = page.evaluate("""async () => {
                const api = await import("/js/api.js");
                const ws = api.openSocket("/api/test/ws/test_word", { sample_rate: 16000 });
                const first = await new Promise((resolve) => {
                  ws.onmessage = (e) => resolve(JSON.parse(e.data).type);
                  ws.onclose = (e) => resolve(`closed ${e.code}`);
                });
                const result = { first, protocol: ws.protocol, url: ws.url };
                ws.close();
                return result;
            }""")
            browser.close()
        assert out["first"] == "ready", out
        assert out["protocol"] == "wakebuilder"
        assert TOKEN not in out["url"]
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        proc.terminate()
        proc.wait(20)
    text = log.read_text()
    assert "WebSocket /api/test/ws/test_word" in text, text[-2000:]
    assert TOKEN not in text
