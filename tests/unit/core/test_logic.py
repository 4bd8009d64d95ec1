"""DetectionLogic's streaming face (step) and whole-stream face (smooth + fire_frames, used by
calibration, evaluation and benchmarks) give the same detections on random score streams."""

import numpy as np
import pytest

from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import detect_in_scores
from wakebuilder.detection.evaluate import count_events, fa_per_hour, hours_of, smoothed_scores
from wakebuilder.detection.logic import DetectionLogic, refractory_frames


def _streamed(scores: np.ndarray, cfg: DetectorConfig, first_frame: int = 0
              ) -> list[tuple[int, float]]:
    logic = DetectionLogic(cfg)
    out = []
    for i, s in enumerate(scores):
        fired = logic.step(float(s), first_frame + i)
        if fired is not None:
            out.append((first_frame + i, fired))
    return out


def _random_config(rng: np.random.Generator) -> DetectorConfig:
    return DetectorConfig(threshold=float(rng.uniform(0.05, 0.95)),
                          smoothing_frames=int(rng.integers(1, 17)),
                          refractory_ms=int(rng.choice([0, 1, 79, 80, 81, 400, 1200, 2000,
                                                        int(rng.integers(0, 5000))])),
                          warmup_frames=int(rng.integers(0, 33)))


@pytest.mark.parametrize("seed", range(40))
def test_whole_stream_equals_streaming(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cfg = _random_config(rng)
    n = int(rng.integers(0, 3000))
    # Bursty scores: mostly low, with runs near and above the threshold.
    scores = rng.beta(0.4, 3.0, n)
    for start in rng.integers(0, max(n, 1), 12):
        scores[start:start + int(rng.integers(1, 30))] = rng.uniform(0.3, 1.0)
    first = int(rng.choice([0, int(rng.integers(0, 40))]))
    expected = _streamed(scores, cfg, first)
    logic = DetectionLogic(cfg)
    smoothed = logic.smooth(scores, first)
    frames = logic.fire_frames(smoothed)
    assert [first + int(f) for f in frames] == [f for f, _ in expected]
    assert [float(smoothed[f]) for f in frames] == [s for _, s in expected]  # bit for bit
    got = detect_in_scores(scores, cfg, name="w", first_frame=first)
    assert [(d.frame, d.score) for d in got] == expected
    assert [d.time_ms for d in got] == [(f + 1) * 80 for f, _ in expected]
    if first == 0:
        assert count_events(smoothed_scores(scores, cfg), cfg.threshold,
                            cfg.refractory_ms) == len(expected)


def test_many_thresholds_on_one_stream() -> None:
    rng = np.random.default_rng(7)
    cfg = DetectorConfig(smoothing_frames=3, refractory_ms=2000, warmup_frames=16)
    scores = rng.beta(0.3, 3, 20_000)
    smoothed = smoothed_scores(scores, cfg)
    for t in np.linspace(0.05, 0.99, 60):
        cfg_t = cfg.model_copy(update={"threshold": float(t)})
        assert count_events(smoothed, float(t), cfg.refractory_ms) == len(
            _streamed(scores, cfg_t))
    hours = (len(scores) - 16) * 80 / 3_600_000  # the warm-up frames are not listening time
    events = len(_streamed(scores, cfg.model_copy(update={"threshold": 0.5})))
    assert fa_per_hour([smoothed], 0.5, cfg) == pytest.approx(events / hours)
    assert hours_of([smoothed, smoothed[:10]]) == pytest.approx(hours)


def test_refractory_is_measured_in_whole_frames() -> None:
    assert [refractory_frames(ms) for ms in (0, 1, 80, 81, 2000)] == [0, 1, 1, 2, 25]
    cfg = DetectorConfig(threshold=0.5, refractory_ms=160, warmup_frames=0)
    assert [f for f, _ in _streamed(np.ones(7), cfg)] == [0, 2, 4, 6]
    assert list(DetectionLogic(cfg).fire_frames(DetectionLogic(cfg).smooth(np.ones(7)))) == [
        0, 2, 4, 6]


def test_set_config_keeps_recent_scores() -> None:
    logic = DetectionLogic(DetectorConfig(threshold=0.9, smoothing_frames=2, warmup_frames=0))
    assert logic.step(0.8, 0) is None
    logic.set_config(DetectorConfig(threshold=0.85, smoothing_frames=2, warmup_frames=0))
    assert logic.step(0.9, 1) == pytest.approx(0.85)
