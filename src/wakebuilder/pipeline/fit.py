"""Step 5: training the heads (ensemble, mining on the training split, fine-tuning), and the
final pass that adds the untouched recording once it has been measured."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from wakebuilder.negstore.source import NegativeSource
from wakebuilder.pipeline.dataset import Dataset
from wakebuilder.pipeline.state import JobState
from wakebuilder.training import data as D
from wakebuilder.training.ensemble import TrainedModel, continue_training, train_ensemble
from wakebuilder.training.loop import EpochResult, TrainingData

PHASE = "Training classifier"


def fit(state: JobState, data: TrainingData, neg: NegativeSource) -> TrainedModel:
    """Train the model; every epoch is reported and recorded in the history."""
    cfg, plan = state.cfg, state.plan
    per_head = cfg.num_epochs + plan.finetune_epochs(cfg)
    total = cfg.ensemble * per_head
    reached = [0] * cfg.ensemble  # epochs each head has reached (heads may train side by side)

    def on_epoch(i: int, stage: str, epoch: int, r: EpochResult) -> None:
        state.history.append({"head": i, **r.to_dict(), "epoch": epoch, "stage": stage})
        reached[i] = epoch
        state.report(PHASE, sum(reached) / total,
                     f"head {i + 1}/{cfg.ensemble} epoch {epoch}: val_loss "
                     f"{r.val_loss:.4f} val_f1 {r.val_f1:.3f}",
                     current_epoch=epoch, total_epochs=per_head,
                     metrics={"train_loss": r.train_loss, "val_loss": r.val_loss,
                              "val_accuracy": r.val_accuracy, "val_f1": r.val_f1,
                              "val_precision": r.val_precision, "val_recall": r.val_recall})

    def on_mining() -> None:
        for i in range(cfg.ensemble):  # early stopping may have ended a head's first stage
            reached[i] = cfg.num_epochs
        state.report(PHASE, cfg.num_epochs / per_head,
                     "mining hard negatives from the negative store (training split)")

    trained = train_ensemble(data, cfg, plan, mining_streams=lambda: neg.split_streams("train"),
                             on_epoch=on_epoch, on_mining=on_mining,
                             should_cancel=state.should_cancel, workers=state.threads)
    sort_history(state.history)
    if plan.finetune_epochs(cfg):
        state.stats["mined_negatives"] = trained.mined_negatives
    state.check_cancel()
    return trained


def fit_all_recordings(state: JobState, trained: TrainedModel, dataset: Dataset) -> TrainedModel:
    """Continue the measured model with the untouched recording added to its positives
    (augmented like the others), so the shipped model has learnt from every recording."""
    cfg, plan = state.cfg, state.plan
    phase = "Training on all recordings"
    state.report(phase, 0.0, "adding your untouched recording to the training data")
    per_recording = int(state.stats.get("user_positive_streams", 0)) / max(
        len(dataset.train_user), 1)
    n = max(1, int(round(per_recording * plan.final_user_stream_share)))
    extra = D.windows_from_clips(dataset.frontend, dataset.heldout_user, n, state.rng,
                                 dataset.augmenters, should_cancel=state.should_cancel)
    hard = trained.hard_negatives
    data = replace(dataset.training,
                   positives=np.concatenate([dataset.training.positives, extra]),
                   positive_weights=np.concatenate([dataset.training.positive_weights,
                                                    np.full(len(extra), cfg.user_weight,
                                                            np.float32)]),
                   hard_negatives=dataset.training.hard_negatives if hard is None else hard)
    state.stats["final_user_positive_windows"] = int(len(extra))

    reached = [0] * cfg.ensemble

    def on_epoch(i: int, stage: str, epoch: int, r: EpochResult) -> None:
        state.history.append({"head": i, **r.to_dict(), "epoch": epoch, "stage": stage})
        reached[i] = r.epoch
        state.report(phase, sum(reached) / (cfg.ensemble * plan.final_epochs),
                     f"head {i + 1}/{cfg.ensemble} final epoch {r.epoch}/{plan.final_epochs}")

    final = continue_training(trained, data, cfg, plan, on_epoch=on_epoch,
                              should_cancel=state.should_cancel, workers=state.threads)
    sort_history(state.history)
    state.check_cancel()
    return final


STAGE_ORDER = {"train": 0, "fine-tune": 1, "final": 2}


def sort_history(history: list[dict[str, object]]) -> None:
    """Order the epoch history by stage, head and epoch (heads trained side by side report
    their epochs interleaved), so a manifest lists it the same way however the job ran."""
    history.sort(key=lambda h: (STAGE_ORDER.get(str(h.get("stage")), 3), h.get("head", 0),
                                h.get("epoch", 0)))
