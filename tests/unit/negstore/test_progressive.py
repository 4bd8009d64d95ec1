"""The progressive first-run build: a slice of every source first, then everything; the state
file says where it stands; a failing source is reported as missing and the rest continues."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from wakebuilder.audio.io import write_wav
from wakebuilder.layout import DataLayout
from wakebuilder.negstore import build, progressive
from wakebuilder.negstore.status import (
    BUILDING,
    INTERRUPTED,
    READY,
    STATE_NAME,
    StatusWriter,
    read_status,
)
from wakebuilder.negstore.store import NegativeStore


def _clip(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.05, int(seconds * 16000))).astype(np.float32)


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataLayout:
    monkeypatch.setattr(progressive, "add_generated", lambda *a, **k: {"generated": "stub"})
    monkeypatch.setattr(build, "add_mixtures", lambda *a, **k: {"mixtures": "stub"})
    return DataLayout(tmp_path / "data")


def test_slice_first_then_everything(layout: DataLayout, monkeypatch: pytest.MonkeyPatch
                                     ) -> None:
    monkeypatch.setattr(progressive, "SLICE_SECONDS_PER_SOURCE", 3.0)
    calls: list[list[str]] = []
    seen_at_rest: dict[str, object] = {}

    def fetcher(corpus_dir: Path, ids: list[str]) -> dict[str, str]:
        calls.append(list(ids))
        if len(calls) == 2:  # the rest is fetched after the slice was committed
            seen_at_rest.update(read_status(layout.negative_store_dir) or {})
            seen_at_rest["entries"] = len(NegativeStore(layout.negative_store_dir).entries())
        for sid in ids:
            if sid == "broken":
                continue
            for i in range(6):
                path = corpus_dir / sid / f"clip{i}.flac"
                if not path.exists():
                    write_wav(path, _clip(1.5, hash((sid, i)) % 1000))
        return {"broken": "AptError: apt-get download no-such-package failed"} \
            if "broken" in ids else {}

    summary = progressive.prepare_negatives(
        layout, layout.corpus_dir, source_ids=["asterisk-en", "music-xmoto", "broken", "x"],
        fetcher=fetcher)
    assert calls[0] == ["asterisk-en", "music-xmoto"]  # the quick first wave
    assert sorted(calls[1]) == ["asterisk-en", "broken", "music-xmoto", "x"]
    # the slice: 2 files (3 s) of each of the 2 first-wave sources, committed before the rest
    assert seen_at_rest["slice_ready"] is True and seen_at_rest["state"] == BUILDING
    assert seen_at_rest["entries"] == 4
    assert summary["slice"]["added"] == 4
    store = NegativeStore(layout.negative_store_dir)
    assert len(store.entries()) == 18  # then every file of the 3 sources that arrived
    status = read_status(layout.negative_store_dir)
    assert status is not None and status["state"] == READY and status["progress"] == 1.0
    assert status["missing_sources"] == {"broken": "AptError: apt-get download no-such-"
                                         "package failed"}
    assert "broken" in status["message"] and "rerun" in status["message"]
    assert build.cache_info(layout)["build_state"]["state"] == READY


def test_pick_slice_spreads_over_the_source(tmp_path: Path) -> None:
    files = [("s", write_wav(tmp_path / f"{i:02d}.wav", _clip(1.0, i))) for i in range(20)]
    files += [("t", write_wav(tmp_path / "t.wav", _clip(9.0, 99)))]
    picked = progressive.pick_slice(files, seconds_per_source=4.0)
    names = sorted(p.name for s, p in picked if s == "s")
    assert len(names) == 4
    idx = sorted(int(n[:2]) for n in names)
    assert idx[0] < 5 and idx[-1] >= 10  # from the start and the end of the source
    assert [p.name for s, p in picked if s == "t"] == ["t.wav"]  # one long file is enough


def test_a_dead_builder_reads_as_interrupted(tmp_path: Path) -> None:
    writer = StatusWriter(tmp_path)
    writer.stage("embedding", 0.1)
    assert read_status(tmp_path)["state"] == BUILDING
    data = json.loads((tmp_path / STATE_NAME).read_text())
    data["pid"] = 2 ** 22 + 12345  # no such process
    (tmp_path / STATE_NAME).write_text(json.dumps(data))
    status = read_status(tmp_path)
    assert status is not None and status["state"] == INTERRUPTED
    assert "rerun" in status["message"]
    assert read_status(tmp_path / "none") is None


class _FakeFetch:
    """Stands in for the fetch process: alive until ``finish`` writes the wave marker."""

    def __init__(self, marker: Path) -> None:
        self.marker, self.alive, self.exitcode = marker, True, None

    def is_alive(self) -> bool:
        return self.alive

    def join(self, timeout: float | None = None) -> None:
        pass

    def finish(self, failures: dict[str, str]) -> None:
        self.marker.write_text(json.dumps(failures))


def test_slices_are_embedded_while_the_first_wave_downloads(tmp_path: Path) -> None:
    marker = tmp_path / ".fetch-wave-0.json"
    proc = _FakeFetch(marker)
    calls: list[int] = []

    def meanwhile() -> int:  # the third round finds the wave complete
        calls.append(len(calls))
        if len(calls) == 3:
            proc.finish({"gcin": "AptError: x"})
        return 1 if len(calls) == 1 else 0

    failures = progressive._wait_wave(proc, marker, lambda: False, meanwhile)  # type: ignore[arg-type]
    assert failures == {"gcin": "AptError: x"} and len(calls) == 3
    dead = _FakeFetch(tmp_path / "never.json")
    dead.alive, dead.exitcode = False, 1
    lost = progressive._wait_wave(dead, dead.marker, lambda: False, lambda: 0)  # type: ignore[arg-type]
    assert "exited (1)" in lost["fetch"]


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent's reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_the_fetch_process_exits_when_the_build_is_killed() -> None:
    """A build killed with SIGKILL cannot stop its fetch process: the fetch process notices
    that its parent is gone and exits instead of downloading on."""
    import subprocess
    import sys
    import time

    child = ("import os, time; from wakebuilder.processes import exit_with_parent; "
             "exit_with_parent(os.getppid(), 0.05); time.sleep(60)")
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; c = subprocess.Popen("
         f"[sys.executable, '-c', {child!r}]); print(c.pid, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    try:
        time.sleep(1.0)
        assert _alive(pid), "the watchdog must not fire while the parent lives"
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid)
    finally:
        if _alive(pid):
            os.kill(pid, 9)
