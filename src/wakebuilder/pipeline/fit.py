"""Step 5: training the heads (ensemble, mining on the training split, fine-tuning)."""

from __future__ import annotations

from wakebuilder.negstore.source import NegativeSource
from wakebuilder.pipeline.state import JobState
from wakebuilder.training.ensemble import TrainedModel, train_ensemble
from wakebuilder.training.loop import EpochResult, TrainingData

PHASE = "Training classifier"


def fit(state: JobState, data: TrainingData, neg: NegativeSource) -> TrainedModel:
    """Train the model; every epoch is reported and recorded in the history."""
    cfg, plan = state.cfg, state.plan
    per_head = cfg.num_epochs + plan.finetune_epochs(cfg)
    total = cfg.ensemble * per_head

    def on_epoch(i: int, stage: str, epoch: int, r: EpochResult) -> None:
        state.history.append({"head": i, **r.to_dict(), "epoch": epoch, "stage": stage})
        state.report(PHASE, (i * per_head + epoch) / total,
                     f"head {i + 1}/{cfg.ensemble} epoch {epoch}: val_loss "
                     f"{r.val_loss:.4f} val_f1 {r.val_f1:.3f}",
                     current_epoch=epoch, total_epochs=per_head,
                     metrics={"train_loss": r.train_loss, "val_loss": r.val_loss,
                              "val_accuracy": r.val_accuracy, "val_f1": r.val_f1,
                              "val_precision": r.val_precision, "val_recall": r.val_recall})

    def on_mining() -> None:
        state.report(PHASE, cfg.num_epochs / per_head,
                     "mining hard negatives from the negative store (training split)")

    trained = train_ensemble(data, cfg, plan, mining_streams=lambda: neg.split_streams("train"),
                             on_epoch=on_epoch, on_mining=on_mining,
                             should_cancel=state.should_cancel)
    if plan.finetune_epochs(cfg):
        state.stats["mined_negatives"] = trained.mined_negatives
    state.check_cancel()
    return trained
