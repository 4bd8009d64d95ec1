"""Fixtures for real-browser tests: a live ``wakebuilder serve``, Debian's Chromium with a fake
microphone fed from a WAV file, and a screenshot helper (``test-artifacts/ui/``).

Chromium comes from Debian (``apt-get install -y chromium``; ``scripts/test.sh`` installs it);
Playwright's own browser downloads are never used. Without ``/usr/bin/chromium`` the browser
tests skip with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import seed_negative_store

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("WAKEBUILDER_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts" / "ui"
COMPUTER_WAVS = sorted((ROOT.parent / "shared" / "dev-data" / "precise" / "computer")
                       .glob("*.wav"))
FAKE_MIC_RATE = 48_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_server(data_dir: Path, log: Path, timeout_s: float = 60.0) -> Server:
    """``wakebuilder serve`` in a subprocess on a free port; waits for ``/health``."""
    port = free_port()
    env = {**os.environ, "WAKEBUILDER_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("WAKEBUILDER_API_TOKEN", None)
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wakebuilder.cli.main", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"],
        stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n"
                               + log.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return Server(url, data_dir, log, proc)
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("server did not answer /health in time")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=10)


def _pick_clips(n: int) -> list[np.ndarray]:
    """``n`` "computer" clips that start and end quietly, peak-normalised to -6 dBFS."""
    import soundfile as sf

    picked = []
    for path in COMPUTER_WAVS:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        x = data.mean(axis=1)
        assert rate == 16_000, path
        edge = int(0.1 * rate)
        rms = lambda a: float(np.sqrt(np.mean(a ** 2)) + 1e-12)  # noqa: E731
        peak = float(np.abs(x).max())
        if peak < 0.02 or max(rms(x[:edge]), rms(x[-edge:])) > 0.05 * peak:
            continue
        picked.append(x * (0.5 / peak))
        if len(picked) == n:
            break
    return picked


def build_fake_mic_wav(path: Path, clips: int = 6, pause_s: float = 1.6) -> Path:
    """A 48 kHz 16-bit mono WAV of "computer" clips separated by quiet pauses.

    Chromium loops it as the microphone, so the recorder hears the word every few seconds.
    """
    import soundfile as sf
    from scipy.signal import resample_poly

    rng = np.random.default_rng(7)
    parts: list[np.ndarray] = []
    for clip in _pick_clips(clips):
        parts.append(resample_poly(clip, FAKE_MIC_RATE // 16_000, 1).astype(np.float32))
        parts.append(np.zeros(int(pause_s * FAKE_MIC_RATE), np.float32))
    audio = np.concatenate(parts)
    audio += (0.0004 * rng.standard_normal(audio.size)).astype(np.float32)  # about -68 dBFS
    sf.write(path, np.clip(audio, -1, 1), FAKE_MIC_RATE, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y "
                    "chromium; scripts/test.sh does) to run the browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    return CHROMIUM


@pytest.fixture(scope="session")
def fake_mic_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if len(COMPUTER_WAVS) < 6:
        pytest.skip("shared dev recordings are missing")
    return build_fake_mic_wav(tmp_path_factory.mktemp("mic") / "computer-loop.wav")


def chromium_args(fake_wav: Path | None) -> list[str]:
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    if fake_wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={fake_wav}")
    return args


@pytest.fixture(scope="session")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server on a fresh data directory whose negative store already holds the generated
    corpus (a copy of the shared ``negative_store_template``, like a user whose cache is
    built; ``WAKEBUILDER_UI_FRESH=1`` starts from nothing)."""
    data = tmp_path / "data"
    if os.environ.get("WAKEBUILDER_UI_FRESH") != "1":
        seed_negative_store(request.getfixturevalue("negative_store_template"), data)
    srv = start_server(data, tmp_path / "server.log")
    try:
        yield srv
    finally:
        stop_server(srv)
