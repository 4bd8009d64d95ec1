"""Training a model: ``ensemble`` heads, then (with mining) the windows of long negative audio
they confuse with the wake word become hard negatives and every head is fine-tuned."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
import torch

from wakebuilder.training.config import DataPlan, TrainConfig
from wakebuilder.training.head import AveragedHeads, HeadConfig, WakeHead
from wakebuilder.training.loop import (
    EpochResult,
    TrainingData,
    classification_metrics,
    predict,
    train_head,
)
from wakebuilder.training.mining import mine_top_k
from wakebuilder.training.parallel import Send, run_in_processes

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
    hard_negatives: np.ndarray | None = None
    """The hard negatives the last stage trained on (given ones plus mined), for
    :func:`continue_training`."""


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
                   should_cancel: Callable[[], bool] | None = None,
                   workers: int = 1) -> TrainedModel:
    """Train ``cfg.ensemble`` heads (seeds ``seed * 1000 + i``), mine ``cfg.mined_negatives``
    windows from ``mining_streams()`` (training-split audio only), fine-tune each head (seeds
    ``seed * 1000 + 500 + i``), and measure the average on the validation windows. With
    ``workers`` > 1 the heads of each stage train side by side (:func:`train_heads`)."""
    head_cfg = head_config_of(cfg)
    ft_epochs = plan.finetune_epochs(cfg)

    def hook(i: int, offset: int) -> Callable[[EpochResult], None] | None:
        if on_epoch is None:
            return None
        stage = "fine-tune" if offset else "train"
        return lambda r: on_epoch(i, stage, offset + r.epoch, r)

    avg = plan.checkpoint_average
    heads = train_heads(data, cfg, head_cfg, [cfg.seed * 1000 + i for i in range(cfg.ensemble)],
                        hook=lambda i: hook(i, 0), should_cancel=should_cancel,
                        average_top=avg, workers=workers)
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
        heads = train_heads(tuned, ft_cfg, head_cfg,
                            [cfg.seed * 1000 + 500 + i for i in range(len(heads))],
                            hook=lambda i: hook(i, cfg.num_epochs), should_cancel=should_cancel,
                            inits=heads, average_top=avg, workers=workers)
        data = tuned
    return _finish(heads, head_cfg, mined, data)


def train_heads(data: TrainingData, cfg: TrainConfig, head_cfg: HeadConfig, seeds: list[int], *,
                hook: Callable[[int], Callable[[EpochResult], None] | None],
                should_cancel: Callable[[], bool] | None = None,
                inits: list[WakeHead] | None = None, average_top: int = 1,
                workers: int = 1) -> list[WakeHead]:
    """Train one head per seed (head ``i`` from ``inits[i]`` when given): in this process
    when ``workers`` is 1 or there is one head, else in up to ``workers`` forked processes of
    one torch thread each (:mod:`~wakebuilder.training.parallel`), which give the same
    weights as a serial run with one thread. ``hook(i)`` is head ``i``'s epoch callback."""
    def init_of(i: int) -> WakeHead | None:
        return None if inits is None else inits[i]

    if workers <= 1 or len(seeds) <= 1:
        return [train_head(data, cfg, head_cfg, seed=seed, on_epoch=hook(i),
                           should_cancel=should_cancel, init=init_of(i),
                           average_top=average_top)[0] for i, seed in enumerate(seeds)]
    # Build the negative sampler's memoised tables here, once, rather than in every child
    # (a throwaway generator: the job's random streams are untouched).
    data.sample_negatives(1, np.random.default_rng(0))

    def task(i: int) -> Callable[[Send], dict[str, np.ndarray]]:
        def run(send: Send) -> dict[str, np.ndarray]:
            head, _ = train_head(data, cfg, head_cfg, seed=seeds[i], on_epoch=send,
                                 init=init_of(i), average_top=average_top)
            return {k: v.detach().numpy() for k, v in head.state_dict().items()}
        return run

    hooks = [hook(i) for i in range(len(seeds))]

    def on_message(i: int, result: EpochResult) -> None:
        if hooks[i] is not None:
            hooks[i](result)

    states = run_in_processes([task(i) for i in range(len(seeds))], workers=workers,
                              on_message=on_message, should_cancel=should_cancel)
    heads = []
    for state in states:
        head = WakeHead(head_cfg)
        head.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        heads.append(head.eval())
    return heads


def _finish(heads: list[WakeHead], head_cfg: HeadConfig, mined: int, data: TrainingData,
            validation: dict[str, float] | None = None) -> TrainedModel:
    model = AveragedHeads(heads)
    model.eval()
    if validation is None:
        acc, prec, rec, f1 = classification_metrics(predict(model, data.val_x), data.val_y)
        validation = {"accuracy": acc, "precision": prec, "recall": rec, "f1_score": f1}
    return TrainedModel(model, head_cfg, mined, validation, data.hard_negatives)


def continue_training(trained: TrainedModel, data: TrainingData, cfg: TrainConfig,
                      plan: DataPlan, *, on_epoch: EpochHook | None = None,
                      should_cancel: Callable[[], bool] | None = None,
                      workers: int = 1) -> TrainedModel:
    """Continue every head on ``data`` (typically the same data plus material that was held
    out so far) for ``plan.final_epochs`` at the fine-tune learning rate, without early
    stopping (the validation windows may now overlap the training data), keeping the mean of
    the weights of all those epochs. Seeds ``seed * 1000 + 900 + i``. The validation figures
    stay those of ``trained``: the new data may include validation material."""
    epochs = plan.final_epochs
    final_cfg = finetune_config(cfg, plan).model_copy(update={"num_epochs": epochs,
                                                              "early_stopping": 0})
    offset = cfg.num_epochs + plan.finetune_epochs(cfg)
    inits = list(trained.model.heads)
    heads = train_heads(data, final_cfg, trained.head_config,
                        [cfg.seed * 1000 + 900 + i for i in range(len(inits))],
                        hook=lambda i: None if on_epoch is None else
                        (lambda r: on_epoch(i, "final", offset + r.epoch, r)),
                        should_cancel=should_cancel, inits=inits, average_top=epochs,
                        workers=workers)
    return _finish(heads, trained.head_config, trained.mined_negatives, data,
                   validation=trained.validation)
