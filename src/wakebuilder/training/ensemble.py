"""Training a model: ``ensemble`` heads, then (with mining) the windows of long negative audio
they confuse with the wake word become hard negatives and every head is fine-tuned."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from wakebuilder.training.config import DataPlan, TrainConfig
from wakebuilder.training.head import AveragedHeads, HeadConfig
from wakebuilder.training.loop import (
    EpochResult,
    TrainingData,
    classification_metrics,
    predict,
    train_head,
)
from wakebuilder.training.mining import mine_top_k

EpochHook = Callable[[int, str, int, EpochResult], None]
"""Called after every epoch with (head index, stage "train" | "fine-tune", epoch counted over
both stages, the epoch's result)."""


@dataclass
class TrainedModel:
    """The averaged heads, their architecture and what training measured."""

    model: AveragedHeads
    head_config: HeadConfig
    mined_negatives: int
    validation: dict[str, float]
    """accuracy, precision, recall, f1_score of the final model on the validation windows."""


def head_config_of(cfg: TrainConfig) -> HeadConfig:
    """The head architecture the options select."""
    return HeadConfig(kind=cfg.head_kind(), dropout=cfg.dropout,
                      use_se_block=cfg.use_se_block, use_attention=cfg.use_attention)


def finetune_config(cfg: TrainConfig, plan: DataPlan) -> TrainConfig:
    """The options of the fine-tune pass after mining."""
    return cfg.model_copy(update={
        "num_epochs": plan.finetune_epochs(cfg),
        "learning_rate": cfg.learning_rate * plan.finetune_lr_factor,
        "hard_negative_ratio": max(cfg.hard_negative_ratio, plan.finetune_min_hard_ratio)})


def train_ensemble(data: TrainingData, cfg: TrainConfig, plan: DataPlan, *,
                   mining_streams: Callable[[], Iterable[np.ndarray]],
                   on_epoch: EpochHook | None = None,
                   on_mining: Callable[[], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> TrainedModel:
    """Train ``cfg.ensemble`` heads (seeds ``seed * 1000 + i``), mine ``cfg.mined_negatives``
    windows from ``mining_streams()`` (training-split audio only), fine-tune each head (seeds
    ``seed * 1000 + 500 + i``), and measure the average on the validation windows."""
    head_cfg = head_config_of(cfg)
    ft_epochs = plan.finetune_epochs(cfg)

    def hook(i: int, offset: int) -> Callable[[EpochResult], None] | None:
        if on_epoch is None:
            return None
        stage = "fine-tune" if offset else "train"
        return lambda r: on_epoch(i, stage, offset + r.epoch, r)

    heads = [train_head(data, cfg, head_cfg, seed=cfg.seed * 1000 + i, on_epoch=hook(i, 0),
                        should_cancel=should_cancel)[0] for i in range(cfg.ensemble)]
    mined = 0
    if ft_epochs:
        if on_mining is not None:
            on_mining()
        first = AveragedHeads(heads).eval()
        windows = mine_top_k(lambda x: predict(first, x), mining_streams(), cfg.mined_negatives,
                             stride=plan.mining_stride, min_score=plan.mining_min_score,
                             should_cancel=should_cancel)
        mined = len(windows)
        tuned = replace(data, hard_negatives=np.concatenate([data.hard_negatives, windows]))
        ft_cfg = finetune_config(cfg, plan)
        heads = [train_head(tuned, ft_cfg, head_cfg, seed=cfg.seed * 1000 + 500 + i,
                            on_epoch=hook(i, cfg.num_epochs), should_cancel=should_cancel,
                            init=h)[0] for i, h in enumerate(heads)]
    model = AveragedHeads(heads)
    model.eval()
    acc, prec, rec, f1 = classification_metrics(predict(model, data.val_x), data.val_y)
    return TrainedModel(model, head_cfg, mined, {"accuracy": acc, "precision": prec,
                                                 "recall": rec, "f1_score": f1})
