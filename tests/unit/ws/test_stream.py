"""The per-connection audio path: chunking and resampling never change the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wakebuilder.api.realtime.stream import AudioStream
from wakebuilder.audio.format import to_int16
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import StreamingDetector
from wakebuilder.detection.model import WakeModel

from .conftest import write_stub_head


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> WakeModel:
    path = Path(tmp_path_factory.mktemp("head")) / "stub.onnx"
    write_stub_head(path)
    return WakeModel(path, name="stub")


def signal(rate: int, seconds: float = 3.0) -> bytes:
    rng = np.random.default_rng(1)
    t = np.arange(int(rate * seconds)) / rate
    x = 0.2 * np.sin(2 * np.pi * 300 * t) * (t > 1.0) + rng.normal(0, 0.01, t.size)
    return to_int16(x).tobytes()


def stream_scores(model: WakeModel, pcm: bytes, rate: int,
                  chunk_ms: int) -> list[tuple[int, float]]:
    stream = AudioStream(model, DetectorConfig(threshold=0.99))
    step = rate * chunk_ms // 1000 * 2
    scores: list[tuple[int, float]] = []
    for i in range(0, len(pcm), step):
        scores += stream.feed(pcm[i:i + step], rate).frame_scores
    return scores


@pytest.mark.parametrize("rate", [16000, 44100, 48000, 8000])
def test_chunk_size_does_not_change_scores(model: WakeModel, rate: int) -> None:
    pcm = signal(rate)
    small = stream_scores(model, pcm, rate, 20)
    large = stream_scores(model, pcm, rate, 500)
    assert len(small) >= 35
    assert small == large


def test_16k_matches_the_detector_on_the_whole_signal(model: WakeModel) -> None:
    pcm = signal(16000)
    whole = StreamingDetector(model, DetectorConfig(threshold=0.99))
    whole.process(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768)
    assert stream_scores(model, pcm, 16000, 20) == whole.frame_scores


def test_48k_is_close_to_16k(model: WakeModel) -> None:
    a = np.array([s for _, s in stream_scores(model, signal(16000), 16000, 100)])
    b = np.array([s for _, s in stream_scores(model, signal(48000), 48000, 100)])
    n = min(len(a), len(b))
    assert n >= 35 and np.max(np.abs(a[:n] - b[:n])) < 0.05


def test_reset_restarts_the_clock(model: WakeModel) -> None:
    stream = AudioStream(model, DetectorConfig())
    first = stream.feed(signal(16000, 1.0), 16000).frame_scores
    stream.reset()
    assert stream.feed(signal(16000, 1.0), 16000).frame_scores == first


def test_config_change_takes_effect_mid_stream() -> None:
    from wakebuilder.detection.detector import DetectionLogic

    logic = DetectionLogic(DetectorConfig(threshold=0.5, smoothing_frames=1, warmup_frames=0,
                                          refractory_ms=0))
    assert logic.step(0.9, 0) is not None
    logic.set_config(DetectorConfig(threshold=0.5, smoothing_frames=4, warmup_frames=0,
                                    refractory_ms=0))
    assert logic.step(0.0, 1) is None  # mean(0.9, 0.0) < 0.5 with the wider window
    assert logic.step(0.0, 2) is None and logic.step(0.9, 3) is None
