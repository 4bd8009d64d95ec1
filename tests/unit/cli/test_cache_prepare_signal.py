"""``wakebuilder cache prepare`` stopped with SIGTERM (``kill``, a service manager) stops
cleanly: it exits 143 and its state file says the build was cancelled (a rerun resumes); its
fetch process, if any, is stopped on the way out (``progressive.prepare_negatives``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wakebuilder.negstore.status import CANCELLED, STATE_NAME, read_status


@pytest.mark.slow
def test_sigterm_cancels_the_build(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "wakebuilder.cli.main", "cache", "prepare",
                             "--no-fetch", "--data-dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = data / "cache" / "negatives"
    deadline = time.monotonic() + 60
    while not (store / STATE_NAME).exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    time.sleep(1.0)  # inside the generated corpus (a minute of work)
    assert proc.poll() is None, "the build ended before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "resumes" in err
    state = read_status(store)
    assert state is not None and state["state"] == CANCELLED, state
