"""Step 6: the threshold, and what the model is measured to do at it.

The threshold is chosen on the calibration split (so the FA/h counted there is in-sample);
the false-accept rate users are told is counted on the held-out split (whole sources no
other step saw), per kind of audio; false rejects on held-out positives."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import frame_scores
from wakebuilder.detection.evaluate import (
    choose_threshold,
    count_events,
    det_curve,
    hours_of,
    smoothed_scores,
)
from wakebuilder.modelstore.manifest import DetPoint
from wakebuilder.modelstore.metrics import (
    MIN_HELDOUT_HOURS,
    FalseAccepts,
    HeldoutFalseAccepts,
    ModelMetrics,
    RejectFigures,
    Rejects,
)
from wakebuilder.negstore.source import NegativeSource
from wakebuilder.pipeline.dataset import Dataset
from wakebuilder.pipeline.state import JobState
from wakebuilder.training import data as D
from wakebuilder.training.ensemble import TrainedModel
from wakebuilder.training.loop import predict

PHASE = "Calibrating threshold"


@dataclass
class Calibration:
    """The chosen detector settings and the measured figures."""

    detector: DetectorConfig
    metrics: ModelMetrics
    det_curve: list[DetPoint]


def _scored(state: JobState, trained: TrainedModel, streams: Iterable[np.ndarray],
            det: DetectorConfig) -> list[np.ndarray]:
    out = []
    for emb in streams:
        state.check_cancel()
        out.append(smoothed_scores(frame_scores(emb, lambda w: predict(trained.model, w)), det))
    return out


def _events(streams: list[np.ndarray], threshold: float, det: DetectorConfig) -> int:
    return sum(count_events(s, threshold, det.refractory_ms) for s in streams)


def _rejects(peaks: np.ndarray, threshold: float) -> Rejects:
    return Rejects.measure(int(np.sum(peaks < threshold)), int(peaks.size))


def heldout_false_accepts(state: JobState, trained: TrainedModel, neg: NegativeSource,
                          det: DetectorConfig) -> HeldoutFalseAccepts:
    """FA/h on the held-out split at ``det.threshold``, overall and per kind."""
    by_kind: dict[str, FalseAccepts] = {}
    events = 0
    hours = 0.0
    for kind, streams in sorted(neg.streams_by_kind("heldout").items()):
        scored = _scored(state, trained, streams, det)
        k_events, k_hours = _events(scored, det.threshold, det), hours_of(scored)
        if k_hours > 0:
            by_kind[kind] = FalseAccepts.measure(k_events, k_hours, in_sample=False)
        events, hours = events + k_events, hours + k_hours
    total = FalseAccepts.measure(events, hours, in_sample=False)
    return HeldoutFalseAccepts(**total.model_dump(), by_kind=by_kind,
                               sources=list(neg.heldout_sources))


def calibrate(state: JobState, trained: TrainedModel, neg: NegativeSource,
              dataset: Dataset) -> Calibration:
    """Choose the threshold on the calibration split; measure held-out FA/h and FRR at it."""
    cfg, plan = state.cfg, state.plan
    det = DetectorConfig(threshold=0.5, smoothing_frames=cfg.smoothing_frames,
                         refractory_ms=cfg.refractory_ms)
    state.report(PHASE, 0.0, "scoring the calibration audio")
    streams = _scored(state, trained, neg.split_streams("calibration"), det)
    cal_hours = hours_of(streams)
    state.report(PHASE, 0.4, f"{cal_hours:.2f} h of calibration audio")
    if cal_hours > 0:
        threshold = choose_threshold(streams, cfg.target_fa_per_hour, det)
    else:
        threshold = 0.5
        state.notes.append("No calibration audio: threshold left at 0.5 (uncalibrated).")
    if 0 < cal_hours < 1.0:
        state.notes.append(f"Only {cal_hours:.2f} h of calibration audio: the threshold is "
                           "chosen coarsely.")
    det = det.model_copy(update={"threshold": threshold})
    calibration = FalseAccepts.measure(_events(streams, threshold, det), cal_hours,
                                       in_sample=True) if cal_hours > 0 else None

    state.report(PHASE, 0.5, "measuring false accepts on the held-out audio")
    heldout = heldout_false_accepts(state, trained, neg, det)
    if heldout.hours < MIN_HELDOUT_HOURS:
        state.notes.append(f"Only {heldout.hours:.2f} h of held-out audio: too little to "
                           "estimate the false-wake rate. Run `wakebuilder corpus fetch` and "
                           "`wakebuilder cache build` to add real audio.")

    state.report(PHASE, 0.8, "measuring false rejects on held-out voices and recordings")
    eval_rng = np.random.default_rng(cfg.seed + plan.eval_seed_offset)
    fe, aug = dataset.frontend, dataset.augmenters

    def score(windows: np.ndarray) -> np.ndarray:
        return predict(trained.model, windows)

    peaks_tts = D.peak_scores(fe, score, dataset.heldout_tts[:plan.eval_tts_clips], eval_rng,
                              aug, det=det)
    peaks_user = D.peak_scores(fe, score, dataset.heldout_user, eval_rng, aug, det=det)
    aug_src = dataset.heldout_user or dataset.train_user
    copies = max(1, plan.eval_augmented_user_clips // max(len(aug_src), 1))
    peaks_user_aug = D.peak_scores(fe, score, aug_src * copies, eval_rng, aug, det=det,
                                   clean=False)
    all_peaks = np.concatenate([peaks_tts, peaks_user, peaks_user_aug])
    rejects = RejectFigures(overall=_rejects(all_peaks, threshold),
                            tts_heldout=_rejects(peaks_tts, threshold),
                            user_heldout=_rejects(peaks_user, threshold),
                            user_augmented=_rejects(peaks_user_aug, threshold),
                            user_augmented_is_heldout=bool(dataset.heldout_user))
    curve = det_curve(streams, all_peaks, det) if cal_hours and all_peaks.size else []
    v = trained.validation
    metrics = ModelMetrics(accuracy=round(v["accuracy"], 4), precision=round(v["precision"], 4),
                           recall=round(v["recall"], 4), f1_score=round(v["f1_score"], 4),
                           calibration=calibration, heldout=heldout, rejects=rejects)
    return Calibration(det, metrics, [DetPoint.model_validate(p) for p in curve])
