"""Steps 2 and 4: the negative store, and the windows a head trains and validates on.

Validation (early stopping) uses only material training never sees: clips of held-out TTS
voices and the untouched user recording as positives, the negative store's ``validation``
split as negatives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.augment.bank import BackgroundBank
from wakebuilder.errors import TrainingError
from wakebuilder.features.frontend import FeatureFrontend, get_frontend
from wakebuilder.layout import DataLayout
from wakebuilder.negstore.source import NegativeSource, open_negatives
from wakebuilder.negstore.status import USEFUL_SPEECH_HOURS, is_building, read_status
from wakebuilder.pipeline.state import JobState
from wakebuilder.synthesis.generate import SynthClip
from wakebuilder.training import data as D
from wakebuilder.training.loop import TrainingData
from wakebuilder.training.voices import clips_of, split_voices

PHASE = "Extracting features"


@dataclass
class Dataset:
    """The training data and the held-out material the later steps measure on."""

    training: TrainingData
    frontend: FeatureFrontend
    augmenters: D.Augmenters
    heldout_tts: list[Samples]
    """Positive clips of held-out TTS voices."""
    train_user: list[Samples]
    heldout_user: list[Samples]
    """The untouched recording (with 3 or more recordings), else empty."""


def open_negative_store(state: JobState, layout: DataLayout) -> NegativeSource:
    """The negative store (the generated corpus is built first when missing)."""
    phase = "Preparing negative data"
    state.report(phase, 0.0, "opening the negative store")
    cfg = state.cfg
    neg = open_negatives(layout, rng=state.rng, use_real=cfg.use_real_negatives,
                         exclude_sources=tuple(cfg.exclude_negative_sources),
                         progress=lambda f, m: state.report(phase, f, m),
                         should_cancel=state.should_cancel, threads=state.threads)
    state.stats["negative_hours_train"] = round(neg.train_hours, 3)
    state.stats["negative_hours_validation"] = round(neg.validation_hours, 3)
    state.stats["negative_hours_calibration"] = round(neg.calibration_hours, 3)
    state.stats["negative_hours_heldout"] = round(neg.heldout_hours, 3)
    state.stats["natural_speech_hours"] = round(neg.natural_speech_hours, 3)
    state.stats["negatives_thin"] = bool(neg.natural_speech_hours < USEFUL_SPEECH_HOURS)
    by_kind: dict[str, float] = {}
    by_source: dict[str, float] = {}
    for e in neg.entries():  # what the store had committed when this job opened it
        by_kind[e.kind] = by_kind.get(e.kind, 0.0) + e.seconds / 3600
        by_source[e.source] = by_source.get(e.source, 0.0) + e.seconds / 3600
    state.stats["negative_hours_by_kind"] = {k: round(h, 3) for k, h in sorted(by_kind.items())}
    state.stats["negative_hours_by_source"] = {k: round(h, 3)
                                               for k, h in sorted(by_source.items())}
    if state.stats["negatives_thin"]:
        state.notes.insert(0, f"Thin negatives: {neg.natural_speech_hours:.2f} h of natural "
                           "speech in the negative store, so false wakes on real speech will "
                           "be higher. Run `wakebuilder cache prepare` (or `wakebuilder corpus "
                           "fetch` and `wakebuilder cache build`) to add ~17 h of real speech, "
                           "then retrain.")
    else:
        note_partial_store(state, layout, sum(by_kind.values()))
    return neg


def note_partial_store(state: JobState, layout: DataLayout, hours: float) -> None:
    """Record (``negatives_partial``) and say at the top of the notes when the negative store
    was still being built as this job opened it: the job learnt from a part of it."""
    build = read_status(layout.negative_store_dir)
    partial = is_building(build)
    state.stats["negatives_partial"] = partial
    if not partial or build is None:
        return
    state.stats["negative_store_stage"] = build.get("stage")
    state.notes.insert(0, f"Partial negatives: the negative store was still being built when "
                       f"this job started ({build.get('stage', 'building')}), so this model "
                       f"learnt from {hours:.1f} h of negative audio, not the ~25 h of a full "
                       "store: expect more false wakes and more missed wake words than from a "
                       "model trained on all of it. Retrain once `wakebuilder cache info` "
                       "(or the Train page) says the store is ready.")


def build_dataset(state: JobState, neg: NegativeSource, train_user: list[Samples],
                  heldout_user: list[Samples], tts_pos: list[SynthClip],
                  tts_hard: list[SynthClip]) -> Dataset:
    """Augmented windows of every positive and hard-negative group, and the validation set."""
    cfg, plan, rng = state.cfg, state.plan, state.rng
    train_voices, held_voices = split_voices(tts_pos + tts_hard, rng,
                                             fraction=plan.heldout_voice_fraction,
                                             min_voices=plan.min_voices_to_hold_out)
    pos_train, pos_held = clips_of(tts_pos, train_voices), clips_of(tts_pos, held_voices)
    hard_train, hard_held = clips_of(tts_hard, train_voices), clips_of(tts_hard, held_voices)
    if cfg.use_hard_negatives:  # the user's own voice saying part of the wake word
        hard_train += D.user_clip_negatives(train_user, rng)
    state.stats["tts_voices_train"] = len(train_voices)
    state.stats["tts_voices_heldout"] = len(held_voices)

    bank = BackgroundBank.generated(rng, seconds=plan.background_bank_seconds,
                                    extra={"real": neg.background_audio(rng)})
    aug = D.Augmenters.default(bank)
    fe = get_frontend(state.threads)
    P = cfg.target_positive_samples
    n_user = int(P * (plan.user_positive_share if pos_train else 1.0))
    n_tts = P - n_user if pos_train else 0
    n_hard = int(P * cfg.hard_negative_ratio) if hard_train else 0
    n_val = plan.validation_positives(cfg)
    val_tts = pos_held
    if not val_tts and not heldout_user:
        val_tts = pos_train
        state.notes.append("No held-out TTS voice or recording: early stopping validated on "
                           "training voices (give 3 recordings for an untouched one).")
    n_val_user = int(n_val * plan.validation_user_share) if heldout_user else 0
    n_val_hard = int(n_val * plan.validation_hard_share)
    plan_counts = [n_user, n_tts, n_hard, n_val, n_val_user, n_val_hard]
    done_before = np.cumsum([0] + plan_counts)
    total = int(sum(plan_counts))

    def prog(k: int) -> Callable[[int], None]:
        return lambda n: state.report(PHASE, (done_before[k] + n) / max(total, 1),
                                      f"{done_before[k] + n}/{total} streams")

    def windows(clips: list[Samples], n: int, k: int) -> D.Windows:
        return D.windows_from_clips(fe, clips, n, rng, aug, progress=prog(k),
                                    should_cancel=state.should_cancel)

    x_user = windows(train_user, n_user, 0)
    x_tts = windows(pos_train, n_tts, 1)
    x_hard = windows(hard_train, n_hard, 2)
    xv_tts = windows(val_tts, n_val, 3)
    xv_user = windows(heldout_user, n_val_user, 4)
    xv_hard = windows(hard_held or hard_train, n_val_hard, 5)
    n_val_neg = int(plan.validation_negative_factor * (len(xv_tts) + len(xv_user)))
    xv_neg = neg.sample_windows(n_val_neg, rng, split="validation")
    positives = np.concatenate([x_user, x_tts])
    if len(positives) == 0:
        raise TrainingError("no positive training windows were produced")
    weights = np.concatenate([np.full(len(x_user), cfg.user_weight, np.float32),
                              np.ones(len(x_tts), np.float32)])
    val_x = np.concatenate([xv_tts, xv_user, xv_hard, xv_neg]).astype(np.float32)
    val_y = np.concatenate([np.ones(len(xv_tts) + len(xv_user)),
                            np.zeros(len(xv_hard) + len(xv_neg))]).astype(np.float32)
    state.stats.update(
        positive_samples=int(len(positives)),
        negative_samples=int(len(x_hard) + cfg.num_epochs * cfg.steps_per_epoch
                             * cfg.batch_size * cfg.negative_ratio / (1 + cfg.negative_ratio)),
        hard_negative_samples=int(len(x_hard)), user_positive_windows=int(len(x_user)),
        user_positive_streams=int(n_user),
        tts_positive_windows=int(len(x_tts)), train_size=int(len(positives) + len(x_hard)),
        val_size=int(len(val_x)), validation_positive_windows=int(len(xv_tts) + len(xv_user)),
        validation_negative_windows=int(len(xv_hard) + len(xv_neg)),
        heldout_user_recordings=len(heldout_user))
    state.report(PHASE, 1.0, "features ready")
    training = TrainingData(positives, weights, x_hard,
                            lambda n, r: neg.sample_windows(n, r, split="train"), val_x, val_y)
    return Dataset(training, fe, aug, pos_held, train_user, heldout_user)
