"""Real servers for end-to-end tests: a free loopback port, a data directory holding a copy of
a model, the app under uvicorn in a thread, and waiting for a subprocess to listen."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from wakebuilder.api.app import create_app
from wakebuilder.cli.serve import uvicorn_options
from wakebuilder.settings import load_settings


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def data_with_model(model_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                    name: str) -> Path:
    """A fresh data directory (``name``) whose ``models/`` holds a copy of ``model_dir``."""
    data = tmp_path_factory.mktemp(name)
    shutil.copytree(model_dir, data / "models" / model_dir.name)
    return data


@contextmanager
def app_in_thread(data: Path, timeout_s: float = 30, *,
                  dispatcher: bool = False) -> Iterator[int]:
    """``create_app`` (no job dispatcher unless ``dispatcher``) under uvicorn in a thread on a
    free loopback port, serving ``data``; yields the port once uvicorn has started, stops it
    afterwards."""
    port = free_port()
    app = create_app(load_settings(data_dir=data, port=port), start_dispatcher=dispatcher)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        **uvicorn_options()))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield port
    srv.should_exit = True
    thread.join(10)


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    """Return once 127.0.0.1:``port`` accepts connections; fail if ``proc`` exits first or
    ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")
