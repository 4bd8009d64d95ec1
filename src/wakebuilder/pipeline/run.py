"""One training job, step by step: recordings, negatives, speech, features, head, calibration,
export. Progress is reported per phase; cancellation is checked between and inside steps."""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

import wakebuilder
from wakebuilder.audio.checks import check_recording
from wakebuilder.audio.format import Samples
from wakebuilder.audio.io import decode_audio
from wakebuilder.augment.bank import BackgroundBank
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import frame_scores
from wakebuilder.detection.evaluate import (
    choose_threshold,
    det_curve,
    fa_per_hour,
    frr,
    hours_of,
    smoothed_scores,
)
from wakebuilder.errors import CancelledError, InvalidInputError, TrainingError
from wakebuilder.features.frontend import EMBEDDING_DIM, WINDOW_FRAMES, get_frontend
from wakebuilder.modelstore.export import write_model_files
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.negstore.source import NegativeSource, open_negatives
from wakebuilder.synthesis.confusables import hard_negative_phrases
from wakebuilder.synthesis.generate import SynthClip, synthesize_many
from wakebuilder.synthesis.phrases import prosody_variants
from wakebuilder.synthesis.registry import load_engines
from wakebuilder.training import data as D
from wakebuilder.training.head import AveragedHeads, HeadConfig, count_params
from wakebuilder.training.loop import EpochResult, TrainingData, predict, train_head
from wakebuilder.training.pipeline import PipelinePaths, TrainRequest, TrainResult
from wakebuilder.training.progress import (
    CancelCheck,
    PhaseTimer,
    ProgressCallback,
    ProgressEvent,
)
from wakebuilder.training.report import render_report
from wakebuilder.wakeword import parse_wake_word

_log = logging.getLogger(__name__)

MAX_RECORDINGS = 5
ENGINE_WEIGHTS = {"piper": 0.45, "espeak": 0.4, "flite": 0.15}
HELDOUT_VOICE_FRACTION = 0.15
# Share of the job's progress bar per phase (start, end).
PHASES = {
    "Checking recordings": (0, 2),
    "Preparing negative data": (2, 8),
    "Synthesizing speech": (8, 25),
    "Extracting features": (25, 55),
    "Training classifier": (55, 88),
    "Calibrating threshold": (88, 96),
    "Exporting model": (96, 100),
}


class TrainingJob:
    """Runs :func:`~wakebuilder.training.pipeline.run_training`."""

    def __init__(self, request: TrainRequest, paths: PipelinePaths, *,
                 progress: ProgressCallback, should_cancel: CancelCheck, threads: int) -> None:
        self.request = request
        self.cfg = request.config
        self.paths = paths
        self._progress = progress
        self._should_cancel = should_cancel
        self.threads = threads
        self.rng = np.random.default_rng(self.cfg.seed)
        self.stats: dict[str, Any] = {}
        self.notes: list[str] = []
        self.history: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()
        self.timer = PhaseTimer()
        """The one source of phase timings: sent with every event, stored in the manifest."""

    # -- plumbing --------------------------------------------------------------------------
    def report(self, phase: str, fraction: float = 0.0, message: str = "", **kw: Any) -> None:
        self.timer.mark(phase)
        seconds = self.timer.seconds()
        self.stats["phase_seconds"] = {k: round(v, 1) for k, v in seconds.items()}
        lo, hi = PHASES[phase]
        self._progress(ProgressEvent(phase=phase, progress=round(lo + (hi - lo) * min(
            max(fraction, 0.0), 1.0), 2), message=message, data_stats=dict(self.stats),
            phase_seconds=seconds, **kw))

    def check_cancel(self) -> None:
        if self._should_cancel():
            raise CancelledError("training was cancelled", {"job_id": self.request.job_id})

    # -- steps -----------------------------------------------------------------------------
    def load_recordings(self) -> list[Samples]:
        self.report("Checking recordings")
        files = self.request.recordings
        if not 1 <= len(files) <= MAX_RECORDINGS:
            raise InvalidInputError(f"give 1 to {MAX_RECORDINGS} recordings, got {len(files)}",
                                    {"count": len(files)})
        clips, reports = [], []
        for path in files:
            clip, rep = check_recording(decode_audio(path), path.name)
            # Level-normalise (peak 0.5); the augmentation draws gains around that.
            clips.append((clip * np.float32(0.5 / max(rep.peak, 1e-6))).astype(np.float32))
            reports.append(rep.to_dict())
            if rep.quiet:
                self.notes.append(f"{path.name} is quiet ({rep.level_dbfs:.0f} dBFS); it was "
                                  "level-normalised, but recording closer to the mic is better.")
        self.stats["recordings"] = len(clips)
        self.stats["recording_reports"] = reports
        return clips

    def load_negatives(self) -> NegativeSource:
        self.report("Preparing negative data", 0.0, "opening the negative feature cache")
        neg = open_negatives(self.paths, rng=self.rng, use_real=self.cfg.use_real_negatives,
                             exclude_sources=tuple(self.cfg.exclude_negative_sources),
                             progress=lambda f, m: self.report("Preparing negative data", f, m),
                             should_cancel=self._should_cancel, threads=self.threads)
        self.stats["negative_hours_train"] = round(neg.train_hours, 3)
        self.stats["negative_hours_calibration"] = round(neg.calibration_hours, 3)
        self.stats["natural_speech_hours"] = round(neg.natural_speech_hours, 3)
        if neg.natural_speech_hours < 0.1:
            self.notes.append("No natural speech in the negative cache: false accepts on real "
                              "speech will be higher. Run `wakebuilder corpus fetch` and "
                              "`wakebuilder cache build` to add ~15 h of real speech.")
        return neg

    def synthesize(self, text: str) -> tuple[list[SynthClip], list[SynthClip]]:
        """Positive and hard-negative TTS clips (empty lists when disabled)."""
        cfg = self.cfg
        engines = load_engines(self.paths.voices_dir, threads=1)
        self.stats["tts_engines_unavailable"] = dict(engines.unavailable)
        n_pos = int(cfg.target_positive_samples * 0.35) if cfg.use_tts_positives else 0
        phrases = hard_negative_phrases(text, max_phrases=60, rng=self.rng,
                                        close_words=cfg.close_word_negatives) \
            if cfg.use_hard_negatives else []
        n_hard = int(cfg.target_positive_samples * cfg.hard_negative_ratio * 0.6) \
            if phrases else 0
        self.stats["hard_negative_phrases"] = phrases[:60]
        total = max(n_pos + n_hard, 1)
        weights = {k: v for k, v in ENGINE_WEIGHTS.items() if k in engines.engines}

        def prog(base: int) -> Any:
            return lambda done, _n: self.report("Synthesizing speech", (base + done) / total,
                                                f"{base + done}/{total} clips")

        pos = synthesize_many(prosody_variants(text), engines, n_pos, self.rng, weights=weights,
                              should_cancel=self._should_cancel, progress=prog(0),
                              workers=self.threads) if n_pos else None
        hard = synthesize_many(phrases, engines, n_hard, self.rng, weights=weights,
                               should_cancel=self._should_cancel, progress=prog(n_pos),
                               workers=self.threads) if n_hard else None
        self.stats["tts_positive_counts"] = pos.counts if pos else {}
        self.stats["tts_hard_negative_counts"] = hard.counts if hard else {}
        failures = {k: (pos.failures if pos else {}).get(k, 0) + (hard.failures if hard else {}
                                                                  ).get(k, 0)
                    for k in engines.engines}
        self.stats["tts_failures"] = {k: v for k, v in failures.items() if v}
        return (pos.clips if pos else []), (hard.clips if hard else [])

    def split_voices(self, clips: list[SynthClip]) -> tuple[set[tuple[str, str]], set[tuple[
            str, str]]]:
        """Hold out ~15% of each engine's voices (engines with >= 4 voices) for validation."""
        by_engine: dict[str, list[str]] = {}
        for c in clips:
            voices = by_engine.setdefault(c.engine, [])
            if c.voice not in voices:
                voices.append(c.voice)
        held: set[tuple[str, str]] = set()
        train: set[tuple[str, str]] = set()
        for engine, voices in by_engine.items():
            order = [voices[i] for i in self.rng.permutation(len(voices))]
            k = int(round(len(order) * HELDOUT_VOICE_FRACTION)) if len(order) >= 4 else 0
            held |= {(engine, v) for v in order[:k]}
            train |= {(engine, v) for v in order[k:]}
        return train, held

    # -- main ------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        torch.set_num_threads(self.threads)
        cfg = self.cfg
        ww = parse_wake_word(self.request.wake_word)
        user = self.load_recordings()
        self.check_cancel()
        neg = self.load_negatives()
        self.check_cancel()

        # User recordings: with 3 or more, one stays untouched for evaluation.
        order = self.rng.permutation(len(user))
        user = [user[i] for i in order]
        heldout_user = user[-1:] if len(user) >= 3 else []
        train_user = user[:-1] if heldout_user else user

        tts_pos, tts_hard = self.synthesize(ww.text)
        self.check_cancel()
        train_voices, held_voices = self.split_voices(tts_pos + tts_hard)
        pos_train = [c.samples for c in tts_pos if (c.engine, c.voice) in train_voices]
        pos_held = [c.samples for c in tts_pos if (c.engine, c.voice) in held_voices]
        hard_train = [c.samples for c in tts_hard if (c.engine, c.voice) in train_voices]
        hard_held = [c.samples for c in tts_hard if (c.engine, c.voice) in held_voices]
        if cfg.use_hard_negatives:  # the user's own voice saying part of the wake word
            hard_train += D.user_clip_negatives(train_user, self.rng)
        self.stats["tts_voices_train"] = len(train_voices)
        self.stats["tts_voices_heldout"] = len(held_voices)

        bank = BackgroundBank.generated(self.rng, seconds=8.0,
                                        extra={"real": neg.background_audio(self.rng)})
        aug = D.Augmenters.default(bank)
        fe = get_frontend(self.threads)
        P = cfg.target_positive_samples
        n_user = int(P * (0.5 if pos_train else 1.0))
        n_tts = P - n_user if pos_train else 0
        n_hard = int(P * cfg.hard_negative_ratio) if hard_train else 0
        n_val_pos = max(40, P // 8)
        plan = [n_user, n_tts, n_hard, n_val_pos, n_val_pos // 2, n_val_pos]
        done_before = np.cumsum([0] + plan)
        total_streams = int(sum(plan))

        def fprog(k: int) -> Any:
            return lambda n: self.report("Extracting features",
                                         (done_before[k] + n) / total_streams,
                                         f"{done_before[k] + n}/{total_streams} streams")

        kw = dict(should_cancel=self._should_cancel)
        x_user = D.windows_from_clips(fe, train_user, n_user, self.rng, aug, progress=fprog(0),
                                      **kw)
        x_tts = D.windows_from_clips(fe, pos_train, n_tts, self.rng, aug, progress=fprog(1),
                                     **kw)
        x_hard = D.windows_from_clips(fe, hard_train, n_hard, self.rng, aug, progress=fprog(2),
                                      **kw)
        val_pos_src = pos_held or pos_train
        xv_tts = D.windows_from_clips(fe, val_pos_src, n_val_pos, self.rng, aug,
                                      progress=fprog(3), **kw)
        xv_user = D.windows_from_clips(fe, train_user, n_val_pos // 2, self.rng, aug,
                                       progress=fprog(4), **kw)
        xv_hard = D.windows_from_clips(fe, hard_held or hard_train, n_val_pos, self.rng, aug,
                                       progress=fprog(5), **kw)
        xv_neg = neg.sample_windows(4 * (len(xv_tts) + len(xv_user)), self.rng,
                                    split="calibration")
        positives = np.concatenate([x_user, x_tts])
        weights = np.concatenate([np.full(len(x_user), cfg.user_weight, np.float32),
                                  np.ones(len(x_tts), np.float32)])
        val_x = np.concatenate([xv_tts, xv_user, xv_hard, xv_neg]).astype(np.float32)
        val_y = np.concatenate([np.ones(len(xv_tts) + len(xv_user)),
                                np.zeros(len(xv_hard) + len(xv_neg))]).astype(np.float32)
        if len(positives) == 0:
            raise TrainingError("no positive training windows were produced")
        self.stats.update(positive_samples=int(len(positives)),
                          negative_samples=int(len(x_hard) + cfg.num_epochs * cfg.steps_per_epoch
                                               * cfg.batch_size * cfg.negative_ratio /
                                               (1 + cfg.negative_ratio)),
                          hard_negative_samples=int(len(x_hard)),
                          user_positive_windows=int(len(x_user)),
                          tts_positive_windows=int(len(x_tts)),
                          train_size=int(len(positives) + len(x_hard)),
                          val_size=int(len(val_x)),
                          heldout_user_recordings=len(heldout_user))
        self.report("Extracting features", 1.0, "features ready")
        training_data = TrainingData(positives, weights, x_hard,
                                     lambda n, r: neg.sample_windows(n, r, split="train"),
                                     val_x, val_y)
        model, head_cfg = self.train(training_data, neg)
        self.check_cancel()
        return self.calibrate_and_export(ww, model, head_cfg, neg, fe, aug, heldout_user,
                                         pos_held, user)

    def mine_negatives(self, model: torch.nn.Module, neg: NegativeSource, k: int,
                       stride: int = 2) -> np.ndarray:
        """The ``k`` highest-scoring windows of the cache's training split (score > 0.05)."""
        best_x = np.zeros((0, WINDOW_FRAMES, EMBEDDING_DIM), np.float32)
        best_s = np.zeros(0, np.float32)
        for emb in neg.split_streams("train"):
            self.check_cancel()
            view = np.lib.stride_tricks.sliding_window_view(emb, (WINDOW_FRAMES, emb.shape[1]))
            view = view[::stride, 0]
            for i in range(0, len(view), 8192):
                x = np.ascontiguousarray(view[i:i + 8192])
                s = predict(model, x)
                keep = s > max(0.05, float(best_s.min()) if len(best_s) >= k else 0.05)
                if keep.any():
                    best_x = np.concatenate([best_x, x[keep]])
                    best_s = np.concatenate([best_s, s[keep]])
                    if len(best_s) > 2 * k:
                        top = np.argsort(best_s)[-k:]
                        best_x, best_s = best_x[top], best_s[top]
        top = np.argsort(best_s)[-k:]
        return best_x[top]

    def train(self, data: TrainingData, neg: NegativeSource) -> tuple[AveragedHeads,
                                                                      HeadConfig]:
        cfg = self.cfg
        head_cfg = HeadConfig(kind=cfg.head_kind(), dropout=cfg.dropout,
                              use_se_block=cfg.use_se_block, use_attention=cfg.use_attention)
        ft_epochs = max(2, cfg.num_epochs // 4) if cfg.mined_negatives else 0
        per_head = cfg.num_epochs + ft_epochs
        total = cfg.ensemble * per_head

        def on_epoch_of(i: int, offset: int) -> Any:
            def on_epoch(r: EpochResult) -> None:
                epoch = offset + r.epoch
                self.history.append({"head": i, **r.to_dict(), "epoch": epoch,
                                     "stage": "fine-tune" if offset else "train"})
                self.report("Training classifier", (i * per_head + epoch) / total,
                            f"head {i + 1}/{cfg.ensemble} epoch {epoch}: val_loss "
                            f"{r.val_loss:.4f} val_f1 {r.val_f1:.3f}",
                            current_epoch=epoch, total_epochs=per_head,
                            metrics={"train_loss": r.train_loss, "val_loss": r.val_loss,
                                     "val_accuracy": r.val_accuracy, "val_f1": r.val_f1,
                                     "val_precision": r.val_precision,
                                     "val_recall": r.val_recall})
            return on_epoch

        heads = [train_head(data, cfg, head_cfg, seed=cfg.seed * 1000 + i,
                            on_epoch=on_epoch_of(i, 0), should_cancel=self._should_cancel)[0]
                 for i in range(cfg.ensemble)]
        if ft_epochs:
            # Hard-negative mining: what the first pass confuses with the wake word in real
            # audio becomes explicit negatives, then each head is fine-tuned.
            self.report("Training classifier", cfg.num_epochs / per_head,
                        "mining hard negatives from the negative cache")
            mined = self.mine_negatives(AveragedHeads(heads).eval(), neg, cfg.mined_negatives)
            self.stats["mined_negatives"] = int(len(mined))
            tuned = replace(data, hard_negatives=np.concatenate([data.hard_negatives, mined]))
            ft_cfg = cfg.model_copy(update={"num_epochs": ft_epochs,
                                            "learning_rate": cfg.learning_rate * 0.5,
                                            "hard_negative_ratio": max(cfg.hard_negative_ratio,
                                                                       0.3)})
            heads = [train_head(tuned, ft_cfg, head_cfg, seed=cfg.seed * 1000 + 500 + i,
                                on_epoch=on_epoch_of(i, cfg.num_epochs),
                                should_cancel=self._should_cancel, init=h)[0]
                     for i, h in enumerate(heads)]
        model = AveragedHeads(heads)
        model.eval()
        probs = predict(model, data.val_x)
        pred, truth = probs >= 0.5, data.val_y >= 0.5
        tp, fp = float(np.sum(pred & truth)), float(np.sum(pred & ~truth))
        fn = float(np.sum(~pred & truth))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        self.val_metrics = {"accuracy": float(np.mean(pred == truth)), "precision": prec,
                            "recall": rec,
                            "f1_score": 2 * prec * rec / (prec + rec) if prec + rec else 0.0}
        return model, head_cfg

    def calibrate_and_export(self, ww: Any, model: AveragedHeads, head_cfg: HeadConfig,
                             neg: NegativeSource, fe: Any, aug: D.Augmenters,
                             heldout_user: list[Samples], pos_held: list[Samples],
                             all_user: list[Samples]) -> TrainResult:
        cfg = self.cfg
        det = DetectorConfig(threshold=0.5, smoothing_frames=cfg.smoothing_frames,
                             refractory_ms=cfg.refractory_ms)
        self.report("Calibrating threshold", 0.0, "scoring the calibration stream")

        def score(windows: np.ndarray) -> np.ndarray:
            return predict(model, windows)

        streams = []
        for emb in neg.calibration_streams():
            self.check_cancel()
            streams.append(smoothed_scores(frame_scores(emb, score), det))
        cal_hours = hours_of(streams)
        self.report("Calibrating threshold", 0.5, f"{cal_hours:.2f} h of calibration audio")
        if cal_hours > 0:
            threshold = choose_threshold(streams, cfg.target_fa_per_hour, det)
        else:
            threshold = 0.5
            self.notes.append("No calibration audio: threshold left at 0.5 (uncalibrated).")
        if 0 < cal_hours < 1.0:
            self.notes.append(f"Only {cal_hours:.2f} h of calibration audio: the false-accept "
                              "rate is estimated coarsely.")
        det = det.model_copy(update={"threshold": threshold})
        eval_rng = np.random.default_rng(cfg.seed + 7)
        peaks_tts = D.peak_scores(fe, score, pos_held[:150], eval_rng, aug, det=det)
        peaks_user = D.peak_scores(fe, score, heldout_user, eval_rng, aug, det=det)
        aug_src = heldout_user or all_user
        peaks_user_aug = D.peak_scores(fe, score, aug_src * max(1, 30 // max(len(aug_src), 1)),
                                       eval_rng, aug, det=det, clean=False)
        all_peaks = np.concatenate([peaks_tts, peaks_user, peaks_user_aug])
        metrics: dict[str, Any] = {
            **{k: round(v, 4) for k, v in self.val_metrics.items()},
            "fa_per_hour": round(fa_per_hour(streams, threshold, det), 4) if cal_hours else None,
            "calibration_hours": round(cal_hours, 3),
            "frr": round(frr(all_peaks, threshold), 4) if all_peaks.size else None,
            "frr_tts_heldout": round(frr(peaks_tts, threshold), 4) if peaks_tts.size else None,
            "frr_user_heldout": round(frr(peaks_user, threshold), 4) if peaks_user.size else None,
            "frr_user_augmented": round(frr(peaks_user_aug, threshold), 4)
            if peaks_user_aug.size else None,
            "frr_user_augmented_is_heldout": bool(heldout_user),
            "heldout_positive_count": int(all_peaks.size),
        }
        curve = det_curve(streams, all_peaks, det) if cal_hours and all_peaks.size else []
        self.report("Exporting model", 0.0, "writing ONNX, weights and metadata")
        train_seconds = round(time.perf_counter() - self.t0, 1)
        metrics["train_seconds"] = train_seconds
        store = ModelStore(self.paths.models_dir, self.paths.default_models_dir)
        with store.staging(ww.slug) as (model_id, tmp):
            manifest = ModelManifest(
                id=model_id, wake_word=ww.text, threshold=round(threshold, 6), detector=det,
                target_fa_per_hour=cfg.target_fa_per_hour, metrics=metrics,
                det_curve=curve, head_config=head_cfg.to_dict() | {"n_heads": cfg.ensemble},
                training_config=cfg.model_dump(), data_stats=self.stats, history=self.history,
                trainable_params=count_params(model), versions=_versions(),
                job_id=self.request.job_id, notes=self.notes)
            manifest = write_model_files(model, manifest, tmp, render_report(manifest))
        self.report("Exporting model", 1.0, f"model {model_id} ready")
        return TrainResult(model_id=model_id, model_dir=store.path(model_id), manifest=manifest)


def _versions() -> dict[str, str]:
    import onnxruntime

    return {"wakebuilder": wakebuilder.__version__, "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
            "python": platform.python_version()}
