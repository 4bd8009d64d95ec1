"""False accepts per hour, false-reject rates and threshold calibration.

All counts go through :class:`~wakebuilder.detection.logic.DetectionLogic` (its whole-stream
face: smoothing, warm-up, threshold, refractory), which is fast enough for thousands of
thresholds on hours of audio and equal frame for frame to the streaming detector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from wakebuilder.audio.format import FRAME_MS
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.logic import DetectionLogic, FloatArray, fire_frames


def smoothed_scores(scores: npt.ArrayLike, config: DetectorConfig) -> FloatArray:
    """Scores as DetectionLogic sees them in a fresh stream (warm-up frames ``-inf``)."""
    return DetectionLogic(config).smooth(scores)


def count_events(smoothed: FloatArray, threshold: float, refractory_ms: int) -> int:
    """Number of detections in one stream of smoothed scores (DetectionLogic's rule)."""
    return int(fire_frames(smoothed, threshold, refractory_ms).size)


def hours_of(smoothed_streams: Sequence[npt.ArrayLike]) -> float:
    """Hours the detector listened in smoothed-score streams: every frame past the warm-up
    (which :func:`smoothed_scores` marks ``-inf`` and which can never fire)."""
    frames = sum(int(np.isfinite(np.asarray(s)).sum()) for s in smoothed_streams)
    return frames * FRAME_MS / 3_600_000


def fa_per_hour(smoothed_streams: Sequence[FloatArray], threshold: float,
                config: DetectorConfig) -> float:
    """False accepts per hour over negative streams."""
    hours = hours_of(smoothed_streams)
    if hours == 0:
        return float("nan")
    events = sum(count_events(s, threshold, config.refractory_ms) for s in smoothed_streams)
    return events / hours


def frr(positive_peaks: npt.ArrayLike, threshold: float) -> float:
    """False-reject rate: share of positives whose peak smoothed score is below threshold."""
    peaks = np.asarray(positive_peaks, dtype=np.float64)
    return float(np.mean(peaks < threshold)) if peaks.size else float("nan")


def choose_threshold(smoothed_streams: Sequence[FloatArray], target_fa_per_hour: float,
                     config: DetectorConfig, *, floor: float = 0.05,
                     ceiling: float = 0.9999) -> float:
    """Lowest threshold whose false accepts on the streams stay within the target budget.

    The budget is ``floor(target * hours)`` events, so a short calibration stream errs on the
    side of fewer false accepts.
    """
    hours = hours_of(smoothed_streams)
    budget = int(np.floor(target_fa_per_hour * hours)) if hours else 0
    finite = [s[np.isfinite(s)] for s in smoothed_streams]
    pool = np.concatenate(finite) if finite else np.zeros(0)
    top = np.sort(pool[pool >= floor])[::-1][:5000]
    candidates = np.unique(np.concatenate([top + 1e-6, np.linspace(floor, ceiling, 200)]))
    candidates = candidates[(candidates >= floor) & (candidates <= ceiling)]
    lo, hi = 0, len(candidates) - 1
    # Events fall (nearly) monotonically with the threshold: binary search, then verify.
    while lo < hi:
        mid = (lo + hi) // 2
        events = sum(count_events(s, candidates[mid], config.refractory_ms)
                     for s in smoothed_streams)
        if events <= budget:
            hi = mid
        else:
            lo = mid + 1
    return float(candidates[lo])


def choose_threshold_with_margin(smoothed_streams: Sequence[FloatArray],
                                 target_fa_per_hour: float, config: DetectorConfig, *,
                                 unseen_factor: float, logit_margin: float,
                                 ceiling: float = 0.9999) -> float:
    """A threshold meant to keep ``target_fa_per_hour`` on audio unlike the streams.

    It lets through at most ``target / unseen_factor`` false accepts per hour on the streams
    (:func:`choose_threshold`), then rises by ``logit_margin`` in logit units. Both allow for
    what a few hours of calibration audio cannot show: other speakers, rooms and words
    false-accept more often than the audio that chose the threshold (the development
    benchmark measured 2-5 times more at the in-sample threshold), and the rate is decided by
    a handful of events."""
    base = choose_threshold(smoothed_streams, target_fa_per_hour / unseen_factor, config,
                            ceiling=ceiling)
    if logit_margin <= 0:
        return base
    b = min(max(base, 1e-6), 1 - 1e-6)
    raised = 1.0 / (1.0 + np.exp(-(np.log(b / (1 - b)) + logit_margin)))
    return float(min(raised, ceiling))


def det_curve(smoothed_streams: Sequence[FloatArray], positive_peaks: npt.ArrayLike,
              config: DetectorConfig, n_points: int = 40) -> list[dict[str, float]]:
    """DET points (threshold, FA/h, FRR) over thresholds spread along the score range."""
    peaks = np.asarray(positive_peaks, dtype=np.float64)
    qs = np.unique(np.concatenate([np.quantile(peaks, np.linspace(0, 0.6, n_points // 2))
                                   if peaks.size else np.zeros(0),
                                   1 - np.logspace(-4, -0.3, n_points // 2)]))
    points = []
    for t in np.sort(qs):
        if not 0 < t < 1:
            continue
        points.append({"threshold": round(float(t), 6),
                       "fa_per_hour": round(fa_per_hour(smoothed_streams, t, config), 4),
                       "frr": round(frr(peaks, t), 4)})
    return points
