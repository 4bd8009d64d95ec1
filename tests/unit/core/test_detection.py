"""Detector behaviour, the sparse evaluation's equality with it, and calibration."""

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import noise, random_model
from wakebuilder.audio.io import decode_audio
from wakebuilder.cli.detect import detect_file
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import StreamingDetector, detect_in_scores, score_stream
from wakebuilder.detection.evaluate import (
    choose_threshold,
    choose_threshold_with_margin,
    count_events,
    fa_per_hour,
    smoothed_scores,
)
from wakebuilder.detection.model import WakeModel


def test_refractory_and_warmup() -> None:
    cfg = DetectorConfig(threshold=0.5, refractory_ms=1000, warmup_frames=4)
    scores = [0.9] * 3 + [0.1] * 5 + [0.9] * 3 + [0.1] * 20 + [0.95]
    hits = detect_in_scores(scores, cfg)
    # frames 0-2 are warm-up; frame 8 fires; 9-10 are within 1 s; frame 31 fires again.
    assert [d.frame for d in hits] == [8, 31]
    assert hits[0].time_ms == 9 * 80


def test_smoothing_needs_sustained_scores() -> None:
    cfg = DetectorConfig(threshold=0.65, smoothing_frames=3, warmup_frames=0)
    assert detect_in_scores([0.0, 1.0, 0.0, 0.0], cfg) == []
    assert [d.frame for d in detect_in_scores([0.0, 0.9, 0.9, 0.9], cfg)] == [3]


@pytest.mark.parametrize("smoothing,refractory", [(1, 0), (1, 2000), (3, 1200), (5, 400)])
def test_sparse_event_count_equals_detector(smoothing: int, refractory: int) -> None:
    rng = np.random.default_rng(smoothing + refractory)
    cfg = DetectorConfig(smoothing_frames=smoothing, refractory_ms=refractory)
    scores = rng.beta(0.3, 3, 5000)
    for threshold in (0.2, 0.5, 0.8, 0.95):
        cfg_t = cfg.model_copy(update={"threshold": threshold})
        expected = len(detect_in_scores(scores, cfg_t))
        assert count_events(smoothed_scores(scores, cfg), threshold, refractory) == expected


def test_choose_threshold_meets_target() -> None:
    rng = np.random.default_rng(0)
    cfg = DetectorConfig(refractory_ms=2000)
    streams = [smoothed_scores(rng.beta(0.5, 4, 45_000), cfg) for _ in range(4)]  # 4 h
    t = choose_threshold(streams, 0.5, cfg)
    assert fa_per_hour(streams, t, cfg) <= 0.5
    assert fa_per_hour(streams, t - 0.02, cfg) > 0.5 or t <= 0.06


def test_threshold_with_margin_is_stricter_by_the_stated_amounts() -> None:
    rng = np.random.default_rng(1)
    cfg = DetectorConfig(refractory_ms=2000)
    streams = [smoothed_scores(rng.beta(0.5, 4, 45_000), cfg) for _ in range(4)]  # 4 h
    plain = choose_threshold(streams, 0.5, cfg)
    # factor 4 on 4 h: a budget of floor(0.5 / 4 * 4) = 0 events, i.e. above every score
    base = choose_threshold_with_margin(streams, 0.5, cfg, unseen_factor=4.0, logit_margin=0.0)
    assert base > plain
    assert fa_per_hour(streams, base, cfg) == 0.0
    assert base <= max(float(np.max(s[np.isfinite(s)])) for s in streams) + 1e-3
    raised = choose_threshold_with_margin(streams, 0.5, cfg, unseen_factor=4.0,
                                          logit_margin=0.15)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert logit(raised) - logit(base) == pytest.approx(0.15, abs=1e-6)
    same = choose_threshold_with_margin(streams, 0.5, cfg, unseen_factor=1.0, logit_margin=0.0)
    assert same == plain


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> WakeModel:
    d = tmp_path_factory.mktemp("m")
    random_model(d, "test_word")
    return WakeModel(d / "test_word.onnx", name="test word")


def test_streaming_detector_matches_whole_signal_scores(model: WakeModel,
                                                        computer_clips: list[Path]) -> None:
    audio = np.concatenate([noise(1.0), decode_audio(computer_clips[0]), noise(1.5)])
    expected = score_stream(model, audio)
    for chunk in (320, 1280, 8000):
        det = StreamingDetector(model, DetectorConfig(threshold=0.99))
        got = []
        for i in range(0, len(audio), chunk):
            det.process(audio[i:i + chunk])
            got += [s for _, s in det.frame_scores]
        assert np.allclose(got[15:], expected[15:len(got)], atol=1e-6)


def test_file_detection_independent_of_chunk_size(model: WakeModel,
                                                  computer_clips: list[Path]) -> None:
    audio = np.concatenate([decode_audio(p) for p in computer_clips[:4]])
    scores = score_stream(model, audio)
    cfg = DetectorConfig(threshold=float(np.quantile(scores[16:], 0.9)), refractory_ms=500)
    a = detect_file(model, cfg, audio, chunk_samples=320)
    b = detect_file(model, cfg, audio, chunk_samples=8000)
    assert [d.frame for d in a] == [d.frame for d in b]
    assert [d.frame for d in a] == [d.frame for d in detect_in_scores(scores, cfg)]
    assert a  # the quantile threshold guarantees some detections
