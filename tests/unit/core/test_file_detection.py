"""detection.file: the one whole-file detection of the file test and ``wakebuilder detect``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import noise, random_model
from wakebuilder.audio.format import FRAME_MS
from wakebuilder.audio.io import decode_audio, write_wav
from wakebuilder.cli.detect import detect_path
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import score_stream
from wakebuilder.detection.file import detect_blocks, detect_stream
from wakebuilder.detection.model import WakeModel


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> WakeModel:
    d = tmp_path_factory.mktemp("m")
    random_model(d, "test_word")
    return WakeModel(d / "test_word.onnx", name="test word")


def _config(model: WakeModel, audio: np.ndarray) -> DetectorConfig:
    scores = score_stream(model, audio)
    return DetectorConfig(threshold=float(np.quantile(scores[16:], 0.8)), refractory_ms=400)


def test_blocks_do_not_change_detections(model: WakeModel, computer_clips: list[Path]) -> None:
    audio = np.concatenate([decode_audio(p) for p in computer_clips[:3]] + [noise(2.0)])
    cfg = _config(model, audio)
    whole = detect_blocks(model, cfg, [audio])
    for size in (777, 16_000, 200_000):
        parts = detect_blocks(model, cfg, (audio[i:i + size] for i in range(0, len(audio), size)))
        assert parts == whole
    assert whole.detections and whole.duration_s == len(audio) / 16_000
    assert whole.frames == (len(audio) + 16_000) // 1280


def test_warm_up_padding_lets_the_first_second_fire(model: WakeModel,
                                                    computer_clips: list[Path]) -> None:
    audio = np.concatenate([decode_audio(computer_clips[0]), noise(3.0)])
    cfg = DetectorConfig(threshold=0.0, refractory_ms=0)  # every scored frame fires
    padded = detect_blocks(model, cfg, [audio]).detections
    live = detect_stream(model, cfg, audio)
    assert padded[0].time_ms == FRAME_MS and padded[0].frame == 0
    assert live[0].frame == cfg.warmup_frames  # a fresh live stream cannot fire earlier


def test_cli_function_reads_the_file_in_blocks(model: WakeModel, tmp_path: Path,
                                               computer_clips: list[Path]) -> None:
    audio = np.concatenate([noise(0.5), decode_audio(computer_clips[1]), noise(1.5)])
    cfg = _config(model, audio)
    path = write_wav(tmp_path / "a.wav", audio)
    from_file = detect_path(model, cfg, path)
    in_memory = detect_blocks(model, cfg, [decode_audio(path)])
    assert from_file == in_memory and from_file.detections


def test_one_long_call_scores_every_frame(model: WakeModel) -> None:
    """A call with more than 80 new frames used to score only its last 65 (a 600 s file test
    in one call scored its last 5 s)."""
    from wakebuilder.detection.detector import StreamingDetector

    audio = noise(12.0, 0.05)
    det = StreamingDetector(model, DetectorConfig(threshold=1.0))
    det.process(audio)
    scores = np.array([s for _, s in det.frame_scores])
    assert len(scores) == 150 and np.all(scores[15:] > 0)
    assert np.allclose(scores[15:], score_stream(model, audio)[15:150], atol=1e-6)
