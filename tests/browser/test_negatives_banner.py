"""The Train page says where the real negatives stand: the banner while a build runs, the
queue-until-ready choice and the warning when training starts early, the job waiting for the
first slice, and the banner once the slice is in.

The build is a ``BUILD_STATE.json`` written by this test (its own live process id), so the
server reads a real "building" state without minutes of embedding."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wakebuilder.layout import DataLayout
from wakebuilder.negstore.status import StatusWriter

from .conftest import COMPUTER_WAVS, Server, chromium_args, start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Server]:
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    try:
        yield server
    finally:
        stop_server(server)


def _get(server: Server, path: str) -> Any:
    with urllib.request.urlopen(server.url + path, timeout=10) as r:
        return json.load(r)


def test_banner_warning_and_queue_until_ready(chromium_path: Path, srv: Server,
                                              tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    if len(COMPUTER_WAVS) < 2:
        pytest.skip("shared dev recordings are missing")
    writer = StatusWriter(DataLayout(srv.data_dir).negative_store_dir)
    writer.stage("fetching the first slice", 0.08)
    writer.update(eta_s=150.0, pid=os.getpid())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), headless=True,
                                    args=chromium_args(None))
        page = browser.new_page()
        page.goto(srv.url + "/")
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=15_000)
        banner = page.locator("#neg-banner")
        expect(banner).to_be_visible(timeout=10_000)
        expect(banner).to_have_attribute("data-state", "building")
        expect(banner).to_contain_text("being prepared")
        expect(banner).to_contain_text("about 3 min left")
        page.screenshot(path=str(tmp_path / "banner.png"))

        page.get_by_role("textbox", name="Wake word").fill("computer")
        page.get_by_role("button", name="Next: recordings").click()
        page.locator("#upload-input").set_input_files([str(w) for w in COMPUTER_WAVS[:2]])
        expect(page.locator("#clips li.clip.ok")).to_have_count(2, timeout=15_000)
        page.get_by_role("button", name="Next: train").click()
        wait_box = page.locator("#neg-wait")
        expect(wait_box).to_be_visible()
        expect(wait_box).to_be_checked()
        page.get_by_role("button", name="Start training").click()
        page.wait_for_url("**/#/job/*", timeout=20_000)
        job_id = page.url.rsplit("/", 1)[-1]
        expect(page.locator("#job-warning")).to_be_visible(timeout=10_000)
        expect(page.locator("#job-warning")).to_contain_text("still being prepared")
        expect(page.locator("#job-phase")).to_have_text("Waiting for negatives",
                                                       timeout=30_000)
        status = _get(srv, f"/api/train/status/{job_id}")
        assert status["phase"] == "Waiting for negatives" and "first slice" in status["message"]
        page.screenshot(path=str(tmp_path / "waiting.png"))
        page.get_by_role("button", name="Cancel training").click()
        page.locator("#confirm-dialog").get_by_role("button", name="Cancel training").click()
        expect(page.locator("#job-status")).to_have_text("cancelled", timeout=60_000)

        writer.update(slice_ready=True, stage="fetching and embedding the rest",
                      progress=0.4)
        page.goto(srv.url + "/#/train")
        expect(banner).to_have_attribute("data-state", "slice", timeout=15_000)
        expect(banner).to_contain_text("First slice of real negatives ready")
        browser.close()
