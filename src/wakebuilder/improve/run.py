"""Improve a published model with clips the user labelled: fine-tune its heads, re-calibrate
with the training job's own threshold step, publish a new version next to the old one.

False wakes become hard negatives twice over: their exact windows (as the detector saw them on
replay) and heavily augmented copies (the user-recording augmentation), each cut to end where
the old model peaked. Confirmed and missed wake words, cut the same way, join the user's
original recordings (when given) as user positives; fresh TTS clips of training voices keep the
positives broad, and TTS clips of held-out voices measure FRR. Both versions are measured on the
same material (:func:`~wakebuilder.pipeline.calibrate.calibrate` for each), and the new version
is refused (not published) when its held-out FRR is worse by more than the stated margin,
unless the request accepts that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wakebuilder.audio.format import FRAME_SAMPLES, SAMPLE_RATE, Samples
from wakebuilder.audio.io import AudioLimits, decode_audio
from wakebuilder.augment.bank import BackgroundBank
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import frame_scores
from wakebuilder.detection.evaluate import smoothed_scores
from wakebuilder.errors import ConflictError, InvalidInputError
from wakebuilder.features.frontend import FeatureFrontend, get_frontend, windows_of
from wakebuilder.improve.options import ImproveOptions
from wakebuilder.layout import DataLayout
from wakebuilder.modelstore.export import load_heads, write_model_files
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.metrics import ModelMetrics
from wakebuilder.modelstore.report import render_report
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.pipeline.calibrate import Calibration, calibrate
from wakebuilder.pipeline.dataset import Dataset, open_negative_store
from wakebuilder.pipeline.publish import versions
from wakebuilder.pipeline.recordings import load_recordings
from wakebuilder.pipeline.request import TrainRequest
from wakebuilder.pipeline.speech import synthesize
from wakebuilder.pipeline.state import JobState
from wakebuilder.training import data as D
from wakebuilder.training.config import DataPlan, TrainConfig
from wakebuilder.training.ensemble import TrainedModel, train_heads
from wakebuilder.training.head import AveragedHeads, HeadConfig, count_params
from wakebuilder.training.loop import (
    EpochResult,
    TrainingData,
    classification_metrics,
    predict,
)
from wakebuilder.training.mining import mine_top_k
from wakebuilder.training.progress import (
    CancelCheck,
    ProgressCallback,
    never_cancel,
    no_progress,
)
from wakebuilder.training.voices import clips_of, split_voices
from wakebuilder.wakeword import parse_wake_word

PHASES = {
    "Checking recordings": (0, 3),
    "Preparing negative data": (3, 8),
    "Synthesizing speech": (8, 20),
    "Extracting features": (20, 40),
    "Training classifier": (40, 75),
    "Calibrating threshold": (75, 96),
    "Exporting model": (96, 100),
}
"""Share of the improve job's progress bar per phase."""
CLIP_LIMITS = AudioLimits(max_seconds=30.0)
CROP_BEFORE_S = 1.8
"""A labelled clip is cut to this much audio before the old model's peak frame ..."""
CROP_AFTER_S = 0.05
"""... and this much after (the window that fired ends at the peak)."""
EXACT_REPEATS = 8
"""Each exact false-wake window appears this many times among the hard negatives."""


@dataclass
class ImproveRequest:
    """The model to improve, the labelled clips and the options."""

    model_dir: Path
    negatives: list[Path]
    """False wakes ("not my wake word")."""
    positives: list[Path] = field(default_factory=list)
    """Confirmed detections and missed wake words ("that was me")."""
    recordings: list[Path] = field(default_factory=list)
    """The user's original recordings, when still at hand."""
    options: ImproveOptions = field(default_factory=ImproveOptions)
    job_id: str | None = None


@dataclass
class ImproveResult:
    """The new version and what changed."""

    model_id: str
    model_dir: Path
    manifest: ModelManifest
    improvement: dict[str, Any]


class _ImproveState(JobState):
    """A :class:`JobState` with the improve job's phases."""

    phases = PHASES


def list_wavs(directory: Path) -> list[Path]:
    """Every audio file directly in ``directory`` (sorted), for the CLI's clip folders."""
    if not directory.is_dir():
        raise InvalidInputError(f"{directory} is not a folder of clips", {"path": str(directory)})
    return sorted(p for p in directory.iterdir()
                  if p.suffix.lower() in (".wav", ".flac", ".ogg", ".mp3", ".webm"))


def load_model(model_dir: Path) -> tuple[ModelManifest, AveragedHeads]:
    """A published model's manifest and heads (from its plain state dict)."""
    metas = [p for p in model_dir.glob("*.json") if p.stem == model_dir.name]
    if not metas:
        raise InvalidInputError(f"{model_dir} is not a model folder (no {model_dir.name}.json)",
                                {"path": str(model_dir)})
    manifest = ModelManifest.model_validate_json(metas[0].read_text(encoding="utf-8"))
    pt = model_dir / f"{model_dir.name}.pt"
    if not pt.is_file():
        raise ConflictError(f"model {model_dir.name!r} has no .pt weights to fine-tune",
                            {"model_id": model_dir.name})
    head = {k: v for k, v in manifest.head_config.items() if k != "n_heads"}
    heads = load_heads(pt, head, int(manifest.head_config.get("n_heads", 1)))
    return manifest, heads


def _score_fn(model: torch.nn.Module):  # type: ignore[no-untyped-def]
    return lambda w: predict(model, w)


def _replay(fe: FeatureFrontend, clip: Samples, det: DetectorConfig) -> tuple[np.ndarray, int]:
    """Embeddings of ``clip`` as the file test replays it (warm-up silence before, one second
    after) and the number of lead frames."""
    lead = det.warmup_frames
    stream = np.concatenate([np.zeros(lead * FRAME_SAMPLES, np.float32), clip,
                             np.zeros(SAMPLE_RATE, np.float32)])
    return fe.embed_stream(stream), lead


def replay_peak(fe: FeatureFrontend, model: torch.nn.Module, clip: Samples,
                det: DetectorConfig) -> tuple[float, int]:
    """(highest smoothed score, its frame counted from the clip's start) of a replay."""
    emb, lead = _replay(fe, clip, det)
    smoothed = smoothed_scores(frame_scores(emb, _score_fn(model)), det)
    smoothed[:lead] = -np.inf
    frame = int(np.argmax(smoothed))
    return float(smoothed[frame]), frame - lead


def crop_at_peak(clip: Samples, peak_frame: int) -> Samples:
    """The audio up to the end of the peak frame (``CROP_BEFORE_S`` before it)."""
    end = min(len(clip), (peak_frame + 1) * FRAME_SAMPLES + int(CROP_AFTER_S * SAMPLE_RATE))
    begin = max(0, end - int(CROP_BEFORE_S * SAMPLE_RATE))
    return clip[begin:end] if end - begin > SAMPLE_RATE // 5 else clip


def exact_windows(fe: FeatureFrontend, clip: Samples, det: DetectorConfig) -> np.ndarray:
    """Every window a replay of ``clip`` scores after the warm-up."""
    emb, lead = _replay(fe, clip, det)
    return np.ascontiguousarray(windows_of(emb[max(0, lead - 15):]), np.float32)


def _load(paths: list[Path]) -> list[Samples]:
    return [decode_audio(p, p.name, CLIP_LIMITS) for p in paths]


def _level(clip: Samples, peak: float) -> Samples:
    top = float(np.max(np.abs(clip), initial=0.0))
    return (clip * np.float32(peak / top)).astype(np.float32) if top > 1e-4 else clip


def _fired(peaks: list[float], threshold: float) -> int:
    return int(sum(p >= threshold for p in peaks))


def run_improve(request: ImproveRequest, layout: DataLayout, *,
                progress: ProgressCallback = no_progress,
                should_cancel: CancelCheck = never_cancel, threads: int = 2) -> ImproveResult:
    """Fine-tune, re-calibrate, compare and publish; raises WakeBuilderError subclasses
    (ConflictError ``frr_worse`` when the new version is refused)."""
    torch.set_num_threads(threads)
    opts = request.options
    old, heads = load_model(request.model_dir)
    if not request.negatives and not request.positives:
        raise InvalidInputError("no labelled clips: label captured clips 'not my wake word' or "
                                "'that was me' first", {"model_id": old.id})
    cfg = TrainConfig.model_validate(old.training_config or {})
    plan = old.recipe or DataPlan()
    # The whole TTS set is synthesised (cheap), so FRR is measured on as many held-out clips as
    # training had; only a share of it becomes training streams (features are the cost).
    cfg = cfg.model_copy(update={"seed": opts.seed, "use_hard_negatives": False})
    n_pos = max(50, int(cfg.target_positive_samples * opts.positive_share))
    state = _ImproveState(TrainRequest(old.wake_word, request.recordings, cfg, plan,
                                       request.job_id), progress=progress,
                          should_cancel=should_cancel, threads=threads)
    ww = parse_wake_word(old.wake_word)
    det_old = old.detector

    state.report("Checking recordings", 0.0, "reading the labelled clips")
    fe = get_frontend(threads)
    false_wakes, confirmed = _load(request.negatives), _load(request.positives)
    recordings = load_recordings(state) if request.recordings else []
    fw_peaks = [replay_peak(fe, heads, c, det_old) for c in false_wakes]
    pos_peaks = [replay_peak(fe, heads, c, det_old) for c in confirmed]
    # cut where the old model peaked, at the level recordings are normalised to (the
    # augmentation draws gains around it); the exact windows below keep the clips as heard
    fw_crops = [_level(crop_at_peak(c, f), plan.recording_peak)
                for c, (_, f) in zip(false_wakes, fw_peaks, strict=True)]
    pos_crops = [_level(crop_at_peak(c, f), plan.recording_peak)
                 for c, (_, f) in zip(confirmed, pos_peaks, strict=True)]
    state.stats.update(improve_false_wakes=len(false_wakes), improve_positives=len(confirmed),
                       improve_recordings=len(recordings))
    state.check_cancel()

    neg = open_negative_store(state, layout)
    state.check_cancel()
    tts_pos, _ = synthesize(state, ww.text, layout.voices_dir)
    state.check_cancel()

    state.report("Extracting features", 0.0, "augmenting the labelled clips")
    rng = state.rng
    train_voices, held_voices = split_voices(tts_pos, rng, fraction=plan.heldout_voice_fraction,
                                             min_voices=plan.min_voices_to_hold_out)
    pos_train, pos_held = clips_of(tts_pos, train_voices), clips_of(tts_pos, held_voices)
    if not pos_held:
        pos_held = pos_train
        state.notes.append("No held-out TTS voice: FRR measured on training voices.")
    bank = BackgroundBank.generated(rng, seconds=plan.background_bank_seconds,
                                    extra={"real": neg.background_audio(rng)})
    aug = D.Augmenters.default(bank)
    user = recordings + pos_crops
    n_rec = int(n_pos * plan.user_positive_share) if recordings else 0
    n_user = n_rec + opts.positive_streams * len(pos_crops)
    n_tts = n_pos - n_rec

    def windows(clips: list[Samples], n: int) -> np.ndarray:
        return D.windows_from_clips(fe, clips, n, rng, aug, should_cancel=state.should_cancel)

    x_user = windows(user, n_user)
    x_tts = windows(pos_train, n_tts if pos_train else 0)
    state.report("Extracting features", 0.5, "false wakes: exact and augmented windows")
    x_fw_aug = windows(fw_crops, opts.false_wake_streams * len(fw_crops))
    exact = [exact_windows(fe, c, det_old) for c in false_wakes]
    x_fw_exact = np.concatenate(exact) if exact else np.zeros((0, 16, 96), np.float32)
    xv_tts = windows(pos_held, max(plan.min_validation_positives, n_pos // 8))
    xv_neg = neg.sample_windows(int(plan.validation_negative_factor * len(xv_tts)), rng,
                                split="validation")
    positives = np.concatenate([x_user, x_tts]).astype(np.float32)
    if len(positives) == 0:
        raise InvalidInputError("no positive material: the model has no TTS voices and no "
                                "recordings were given; label a wake word clip or pass "
                                "recordings", {"model_id": old.id})
    weights = np.concatenate([np.full(len(x_user), cfg.user_weight, np.float32),
                              np.ones(len(x_tts), np.float32)])
    state.report("Extracting features", 1.0, "features ready")

    state.report("Training classifier", 0.0, "mining hard negatives with the old model")
    mined = mine_top_k(_score_fn(heads), neg.split_streams("train"), cfg.mined_negatives,
                       stride=plan.mining_stride, min_score=plan.mining_min_score,
                       should_cancel=state.should_cancel) if cfg.mined_negatives else \
        np.zeros((0, 16, 96), np.float32)
    hard = np.concatenate([x_fw_aug, np.repeat(x_fw_exact, EXACT_REPEATS, axis=0),
                           mined]).astype(np.float32)
    val_x = np.concatenate([xv_tts, x_fw_exact, xv_neg]).astype(np.float32)
    val_y = np.concatenate([np.ones(len(xv_tts)),
                            np.zeros(len(x_fw_exact) + len(xv_neg))]).astype(np.float32)
    data = TrainingData(positives, weights, hard,
                        lambda n, r: neg.sample_windows(n, r, split="train"), val_x, val_y)
    ft_cfg = cfg.model_copy(update={
        "num_epochs": opts.epochs, "early_stopping": 0,
        "learning_rate": cfg.learning_rate * opts.learning_rate_factor,
        "hard_negative_ratio": max(cfg.hard_negative_ratio, plan.finetune_min_hard_ratio)})
    head_cfg = HeadConfig(**{k: v for k, v in old.head_config.items() if k != "n_heads"})
    n_heads = len(heads.heads)
    reached = [0] * n_heads  # the heads train side by side when two threads are allowed

    def hook(i: int) -> Callable[[EpochResult], None]:
        def on_epoch(r: EpochResult) -> None:
            state.history.append({"head": i, **r.to_dict(), "stage": "improve"})
            reached[i] = r.epoch
            state.report("Training classifier", sum(reached) / (n_heads * opts.epochs),
                         f"head {i + 1}/{n_heads} epoch {r.epoch}: val_loss "
                         f"{r.val_loss:.4f}", current_epoch=r.epoch, total_epochs=opts.epochs)
        return on_epoch

    tuned = train_heads(data, ft_cfg, head_cfg,
                        [opts.seed * 1000 + 900 + i for i in range(n_heads)], hook=hook,
                        should_cancel=state.should_cancel, inits=list(heads.heads),
                        workers=state.threads)
    state.history.sort(key=lambda h: (h.get("head", 0), h.get("epoch", 0)))
    new_model = AveragedHeads(tuned).eval()
    acc, prec, rec, f1 = classification_metrics(predict(new_model, val_x), val_y)
    state.stats.update(improve_exact_windows=int(len(x_fw_exact)),
                       improve_augmented_false_wake_windows=int(len(x_fw_aug)),
                       mined_negatives=int(len(mined)),
                       improve_positive_windows=int(len(positives)))
    state.check_cancel()

    dataset = Dataset(data, fe, aug, pos_held, recordings + pos_crops, [])
    cal_state_cfg = cfg.model_copy(update={"target_fa_per_hour": old.target_fa_per_hour
                                           or cfg.target_fa_per_hour})
    state.cfg = cal_state_cfg
    old_trained = TrainedModel(heads, head_cfg, 0, {"accuracy": 0.0, "precision": 0.0,
                                                    "recall": 0.0, "f1_score": 0.0})
    new_trained = TrainedModel(new_model, head_cfg, int(len(mined)), {
        "accuracy": acc, "precision": prec, "recall": rec, "f1_score": f1})
    state.rng = np.random.default_rng(opts.seed)
    cal_old = calibrate(state, old_trained, neg, dataset)
    cal_new = calibrate(state, new_trained, neg, dataset)
    improvement = _compare(old, cal_old, cal_new, fe, heads, new_model, false_wakes, confirmed,
                           opts)
    state.check_cancel()
    check_frr(improvement, opts)
    return _publish(state, old, new_model, cal_new, improvement, layout)


def check_frr(improvement: dict[str, Any], opts: ImproveOptions) -> None:
    """Refuse (ConflictError ``frr_worse``) a new version whose held-out FRR rose by more than
    ``opts.max_frr_increase``, unless the user accepted that (``accept_worse_frr``)."""
    if not improvement["frr_worse"] or opts.accept_worse_frr:
        return
    raise ConflictError(
        f"The improved model misses more: held-out FRR {improvement['before']['frr']:.1%} -> "
        f"{improvement['after']['frr']:.1%}, more than the allowed "
        f"{improvement.get('allowed_frr_increase', opts.max_frr_increase):.1%} rise. Nothing "
        "was published; the old version is "
        "unchanged. Label more wake-word clips, or run again with accept_worse_frr=true to "
        "publish it anyway", {"reason": "frr_worse", "model_id": improvement["improved_from"],
                              "improvement": improvement})


def _figures(cal: Calibration) -> dict[str, Any]:
    m: ModelMetrics = cal.metrics
    held = m.heldout
    rej = m.rejects
    return {"threshold": round(cal.detector.threshold, 6),
            "fa_per_hour": None if held is None else held.fa_per_hour,
            "false_accepts": None if held is None else held.events,
            "heldout_hours": None if held is None else held.hours,
            "frr": None if rej is None else rej.overall.frr,
            "positives": None if rej is None else rej.overall.count}


def allowed_rise(max_frr_increase: float, positives: int | None) -> float:
    """The FRR rise tolerated: ``max_frr_increase``, but never less than one clip of the
    held-out positives (a single extra miss on a small set is not evidence)."""
    return max(max_frr_increase, 1.0 / positives) if positives else max_frr_increase


def frr_rise(before: float | None, after: float | None) -> float:
    """How much FRR rose (negative: fell); 0 when either is unknown."""
    if before is None or after is None:
        return 0.0
    return after - before


def _compare(old: ModelManifest, cal_old: Calibration, cal_new: Calibration,
             fe: FeatureFrontend, old_model: torch.nn.Module, new_model: torch.nn.Module,
             false_wakes: list[Samples], confirmed: list[Samples],
             opts: ImproveOptions) -> dict[str, Any]:
    """Both versions' figures on the same material, and what happens on the labelled clips."""
    before, after = _figures(cal_old), _figures(cal_new)
    t_old, t_new = cal_old.detector.threshold, cal_new.detector.threshold
    det_new = cal_new.detector

    def peaks(model: torch.nn.Module, clips: list[Samples], det: DetectorConfig) -> list[float]:
        return [replay_peak(fe, model, c, det)[0] for c in clips]

    fw_old = peaks(old_model, false_wakes, old.detector)
    fw_new = peaks(new_model, false_wakes, det_new)
    pos_old = peaks(old_model, confirmed, old.detector)
    pos_new = peaks(new_model, confirmed, det_new)
    rise = frr_rise(before["frr"], after["frr"])
    published = old.metrics.heldout
    return {
        "improved_from": old.id,
        "before": before, "after": after,
        "before_published": {"threshold": old.threshold,
                             "fa_per_hour": None if published is None else published.fa_per_hour,
                             "frr": None if old.metrics.rejects is None
                             else old.metrics.rejects.overall.frr},
        "frr_rise": round(rise, 4), "max_frr_increase": opts.max_frr_increase,
        "allowed_frr_increase": round(allowed_rise(opts.max_frr_increase, after["positives"]), 4),
        "frr_worse": rise > allowed_rise(opts.max_frr_increase, after["positives"]) + 1e-9,
        "false_wakes": len(false_wakes),
        "false_wakes_firing_before": _fired(fw_old, old.threshold),
        "false_wakes_firing_at_old_threshold_recalibrated": _fired(fw_old, t_old),
        "false_wakes_firing_after": _fired(fw_new, t_new),
        "wake_word_clips": len(confirmed),
        "wake_word_clips_detected_before": _fired(pos_old, old.threshold),
        "wake_word_clips_detected_after": _fired(pos_new, t_new),
        "false_wake_peaks_after": [round(p, 4) for p in fw_new],
        "new_threshold": round(t_new, 6),
    }


def improvement_report(improvement: dict[str, Any]) -> str:
    """A Markdown section for ``report.md``: both versions side by side."""
    b, a = improvement["before"], improvement["after"]

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f} %"

    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    return "\n".join([
        "", "## Improved from captured clips", "",
        f"Fine-tuned from `{improvement['improved_from']}` with {improvement['false_wakes']} "
        f"false wake(s) and {improvement['wake_word_clips']} wake-word clip(s). Both versions "
        "were measured on the same held-out audio and positives:", "",
        "| version | threshold | held-out FA/h | held-out FRR |", "|---|---|---|---|",
        f"| before | {b['threshold']:.4f} | {num(b['fa_per_hour'])} | {pct(b['frr'])} |",
        f"| after | {a['threshold']:.4f} | {num(a['fa_per_hour'])} | {pct(a['frr'])} |", "",
        f"Labelled false wakes that fire: {improvement['false_wakes_firing_before']} before, "
        f"{improvement['false_wakes_firing_after']} after; wake-word clips detected: "
        f"{improvement['wake_word_clips_detected_before']} before, "
        f"{improvement['wake_word_clips_detected_after']} after. FRR rose by "
        f"{100 * improvement['frr_rise']:.1f} points (allowed: "
        f"{100 * improvement['allowed_frr_increase']:.1f}, one clip at least).", ""])


def _publish(state: JobState, old: ModelManifest, model: AveragedHeads, cal: Calibration,
             improvement: dict[str, Any], layout: DataLayout) -> ImproveResult:
    state.report("Exporting model", 0.0, "writing ONNX, TFLite, weights and metadata")
    metrics = cal.metrics.model_copy(update={"train_seconds": round(state.elapsed(), 1)})
    store = ModelStore(layout.models_dir, layout.default_models_dir)
    ww = parse_wake_word(old.wake_word)
    notes = [*dict.fromkeys(state.notes), f"Improved from {old.id} with labelled captured clips: "
             f"{improvement['false_wakes']} false wake(s), {improvement['wake_word_clips']} "
             "wake-word clip(s)."]
    with store.staging(ww.slug) as (model_id, tmp):
        manifest = ModelManifest(
            id=model_id, wake_word=old.wake_word, threshold=round(cal.detector.threshold, 6),
            detector=cal.detector, target_fa_per_hour=old.target_fa_per_hour, metrics=metrics,
            det_curve=cal.det_curve, head_config=old.head_config,
            training_config=old.training_config, recipe=old.recipe,
            data_stats={**old.data_stats, "improve": state.stats, "improvement": improvement},
            history=[*old.history, *state.history], trainable_params=count_params(model),
            versions=versions(), job_id=state.request.job_id, notes=notes)
        report = render_report(manifest) + improvement_report(improvement)
        manifest = write_model_files(model, manifest, tmp, report)
    state.report("Exporting model", 1.0, f"model {model_id} ready")
    return ImproveResult(model_id, store.path(model_id), manifest, improvement)
