"""Step 6: the threshold, and what the model is measured to do at it.

The threshold is chosen on the calibration split (so the FA/h counted there is in-sample), with
a margin for audio unlike it (:func:`~wakebuilder.detection.evaluate.choose_threshold_with_margin`);
the false-accept rate users are told is counted on the held-out split (whole sources no
other step saw), per kind of audio; false rejects on held-out positives."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import frame_scores
from wakebuilder.detection.evaluate import (
    choose_threshold_with_margin,
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


def _threshold(state: JobState, trained: TrainedModel, neg: NegativeSource, *,
               notes: bool) -> tuple[DetectorConfig, list[np.ndarray], float]:
    """(detector at the chosen threshold, scored calibration streams, their hours)."""
    cfg, plan = state.cfg, state.plan
    det = DetectorConfig(threshold=0.5, smoothing_frames=cfg.smoothing_frames,
                         refractory_ms=cfg.refractory_ms)
    streams = _scored(state, trained, neg.split_streams("calibration"), det)
    cal_hours = hours_of(streams)
    if cal_hours > 0:
        threshold = choose_threshold_with_margin(
            streams, cfg.target_fa_per_hour, det, unseen_factor=plan.threshold_unseen_factor,
            logit_margin=plan.threshold_logit_margin)
    else:
        threshold = 0.5
        if notes:
            state.notes.append("No calibration audio: threshold left at 0.5 (uncalibrated).")
    if notes and 0 < cal_hours < 1.0:
        state.notes.append(f"Only {cal_hours:.2f} h of calibration audio: the threshold is "
                           "chosen coarsely.")
    return det.model_copy(update={"threshold": threshold}), streams, cal_hours


def _user_peaks(state: JobState, trained: TrainedModel, dataset: Dataset, det: DetectorConfig,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Peak scores of the untouched recording(s) as recorded, and of augmented copies (of
    the untouched recording, or of the training recordings when there is none)."""
    plan = state.plan

    def score(windows: np.ndarray) -> np.ndarray:
        return predict(trained.model, windows)

    fe, aug = dataset.frontend, dataset.augmenters
    peaks_user = D.peak_scores(fe, score, dataset.heldout_user, rng, aug, det=det)
    aug_src = dataset.heldout_user or dataset.train_user
    copies = max(1, plan.eval_augmented_user_clips // max(len(aug_src), 1))
    peaks_aug = D.peak_scores(fe, score, aug_src * copies, rng, aug, det=det, clean=False)
    return peaks_user, peaks_aug


@dataclass
class FoldFigures:
    """The untouched recording measured on the model trained without it, at that model's
    own threshold (chosen by the same rule)."""

    threshold: float
    user: Rejects
    user_augmented: Rejects


def measure_fold(state: JobState, trained: TrainedModel, neg: NegativeSource,
                 dataset: Dataset) -> FoldFigures:
    """FRR on the untouched recording, before the final pass trains on it."""
    phase = "Measuring the untouched recording"
    state.report(phase, 0.0, "choosing the threshold of the model trained without it")
    det, _, _ = _threshold(state, trained, neg, notes=False)
    state.report(phase, 0.6, "scoring the untouched recording")
    rng = np.random.default_rng(state.cfg.seed + state.plan.eval_seed_offset + 1)
    peaks_user, peaks_aug = _user_peaks(state, trained, dataset, det, rng)
    return FoldFigures(det.threshold, _rejects(peaks_user, det.threshold),
                       _rejects(peaks_aug, det.threshold))


def calibrate(state: JobState, trained: TrainedModel, neg: NegativeSource,
              dataset: Dataset, fold: FoldFigures | None = None) -> Calibration:
    """Choose the threshold on the calibration split; measure held-out FA/h and FRR at it.

    With ``fold`` (the shipped model also trained on the untouched recording), the figures of
    that recording are the fold's, measured before it was trained on."""
    cfg, plan = state.cfg, state.plan
    state.report(PHASE, 0.0, "scoring the calibration audio")
    det, streams, cal_hours = _threshold(state, trained, neg, notes=True)
    threshold = det.threshold
    state.report(PHASE, 0.4, f"{cal_hours:.2f} h of calibration audio")
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

    def score(windows: np.ndarray) -> np.ndarray:
        return predict(trained.model, windows)

    peaks_tts = D.peak_scores(dataset.frontend, score,
                              dataset.heldout_tts[:plan.eval_tts_clips], eval_rng,
                              dataset.augmenters, det=det)
    tts = _rejects(peaks_tts, threshold)
    if fold is None:
        peaks_user, peaks_aug = _user_peaks(state, trained, dataset, det, eval_rng)
        user, user_aug = _rejects(peaks_user, threshold), _rejects(peaks_aug, threshold)
        all_peaks = np.concatenate([peaks_tts, peaks_user, peaks_aug])
        overall = _rejects(all_peaks, threshold)
    else:
        user, user_aug, all_peaks = fold.user, fold.user_augmented, peaks_tts
        parts = (tts, user, user_aug)
        overall = Rejects.measure(sum(r.rejected or 0 for r in parts),
                                  sum(r.count or 0 for r in parts))
    rejects = RejectFigures(overall=overall, tts_heldout=tts, user_heldout=user,
                            user_augmented=user_aug,
                            user_augmented_is_heldout=bool(dataset.heldout_user),
                            user_heldout_is_fold=fold is not None)
    curve = det_curve(streams, all_peaks, det) if cal_hours and all_peaks.size else []
    v = trained.validation
    metrics = ModelMetrics(accuracy=round(v["accuracy"], 4), precision=round(v["precision"], 4),
                           recall=round(v["recall"], 4), f1_score=round(v["f1_score"], 4),
                           calibration=calibration, heldout=heldout, rejects=rejects)
    return Calibration(det, metrics, [DetPoint.model_validate(p) for p in curve])
