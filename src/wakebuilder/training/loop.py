"""The training loop: weighted BCE or focal loss, label smoothing, feature-space mixup,
early stopping on a validation split made by source."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812

from wakebuilder.training.config import TrainConfig
from wakebuilder.training.head import HeadConfig, WakeHead

Array = npt.NDArray[np.float32]
NegativeSampler = Callable[[int, np.random.Generator], Array]


@dataclass
class TrainingData:
    """Windows ``(N, 16, 96)`` for one job. General negatives come from ``sample_negatives``."""

    positives: Array
    positive_weights: Array
    hard_negatives: Array
    sample_negatives: NegativeSampler
    val_x: Array
    val_y: Array
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class EpochResult:
    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    val_precision: float
    val_recall: float
    val_f1: float
    seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def loss_fn(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor,
            cfg: TrainConfig) -> torch.Tensor:
    """BCE (or focal loss) on smoothed targets, weighted per sample."""
    smooth = targets * (1 - cfg.label_smoothing) + 0.5 * cfg.label_smoothing
    bce = F.binary_cross_entropy_with_logits(logits, smooth, reduction="none")
    if cfg.use_focal_loss:
        p = torch.sigmoid(logits)
        p_t = p * targets + (1 - p) * (1 - targets)
        alpha_t = cfg.focal_alpha * targets + (1 - cfg.focal_alpha) * (1 - targets)
        bce = 2.0 * alpha_t * (1 - p_t).pow(cfg.focal_gamma) * bce
    return (bce * weights).sum() / weights.sum()


def classification_metrics(probs: Array, y: Array) -> tuple[float, float, float, float]:
    """Accuracy, precision, recall and F1 of ``probs >= 0.5`` against labels ``y >= 0.5``."""
    pred = probs >= 0.5
    truth = y >= 0.5
    tp = float(np.sum(pred & truth))
    fp = float(np.sum(pred & ~truth))
    fn = float(np.sum(~pred & truth))
    acc = float(np.mean(pred == truth)) if len(y) else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return acc, precision, recall, f1


def draw_batch(data: TrainingData, cfg: TrainConfig,
               rng: np.random.Generator) -> tuple[Array, Array, Array]:
    """One batch (x, y, weights): ``batch_size / (1 + negative_ratio)`` positives; of the
    negatives, a ``hard_negative_ratio`` share hard negatives, the rest general ones."""
    b = cfg.batch_size
    n_pos = max(1, int(round(b / (1.0 + cfg.negative_ratio))))
    n_neg = b - n_pos
    n_hard = min(int(round(n_neg * cfg.hard_negative_ratio)), n_neg) if len(
        data.hard_negatives) else 0
    pi = rng.integers(0, len(data.positives), n_pos)
    parts_x = [data.positives[pi]]
    parts_y = [np.ones(n_pos, np.float32)]
    parts_w = [data.positive_weights[pi]]
    if n_hard:
        hi = rng.integers(0, len(data.hard_negatives), n_hard)
        parts_x.append(data.hard_negatives[hi])
        parts_y.append(np.zeros(n_hard, np.float32))
        parts_w.append(np.ones(n_hard, np.float32))
    if n_neg - n_hard:
        parts_x.append(data.sample_negatives(n_neg - n_hard, rng))
        parts_y.append(np.zeros(n_neg - n_hard, np.float32))
        parts_w.append(np.ones(n_neg - n_hard, np.float32))
    return (np.concatenate(parts_x).astype(np.float32), np.concatenate(parts_y),
            np.concatenate(parts_w).astype(np.float32))


def predict(model: torch.nn.Module, x: Array, batch: int = 4096) -> Array:
    """Probabilities for windows ``(N, 16, 96)``."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            chunk = np.require(x[i:i + batch], np.float32, ["C_CONTIGUOUS", "WRITEABLE"])
            out.append(model(torch.from_numpy(chunk)).numpy())
    return np.concatenate(out).reshape(-1) if out else np.zeros(0, np.float32)


def train_head(data: TrainingData, cfg: TrainConfig, head_cfg: HeadConfig, *, seed: int,
               on_epoch: Callable[[EpochResult], None] | None = None,
               should_cancel: Callable[[], bool] | None = None,
               init: WakeHead | None = None,
               average_top: int = 1) -> tuple[WakeHead, list[EpochResult]]:
    """Train one head (from ``init`` when given, else from scratch); returns the best (lowest
    validation loss) weights, or with ``average_top`` > 1 the mean of the weights of the
    ``average_top`` epochs with the lowest validation loss (checkpoint averaging: a head less
    sensitive to where in its schedule early stopping caught it), and the history."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = copy.deepcopy(init) if init is not None else WakeHead(head_cfg)
    # foreach: the same arithmetic as the per-parameter loop, in fewer calls.
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=1e-2,
                            foreach=True)
    total_steps = cfg.num_epochs * cfg.steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.learning_rate,
                                                total_steps=total_steps, pct_start=0.1)
    val_x = torch.from_numpy(data.val_x)
    val_y = torch.from_numpy(data.val_y)
    best_loss, best_state, bad_epochs = float("inf"), copy.deepcopy(model.state_dict()), 0
    top: list[tuple[float, int, dict[str, torch.Tensor]]] = []  # (val loss, epoch, weights)
    history: list[EpochResult] = []
    beta = torch.distributions.Beta(cfg.mixup_alpha, cfg.mixup_alpha) if cfg.mixup_alpha else None
    for epoch in range(1, cfg.num_epochs + 1):
        t0 = time.perf_counter()
        model.train()
        losses = []
        for _ in range(cfg.steps_per_epoch):
            if should_cancel is not None and should_cancel():
                from wakebuilder.errors import CancelledError
                raise CancelledError("training cancelled")
            xb, yb, wb = (torch.from_numpy(a) for a in draw_batch(data, cfg, rng))
            if beta is not None:
                lam = float(beta.sample())
                lam = max(lam, 1 - lam)
                perm = torch.randperm(len(xb))
                xb = lam * xb + (1 - lam) * xb[perm]
                yb = lam * yb + (1 - lam) * yb[perm]
                wb = lam * wb + (1 - lam) * wb[perm]
            loss = loss_fn(model.logits(xb).squeeze(1), yb, wb, cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        model.eval()
        with torch.no_grad():
            logits = model.logits(val_x).squeeze(1)
            ones = torch.ones_like(val_y)
            val_loss = float(loss_fn(logits, val_y, ones, cfg))
            probs = torch.sigmoid(logits).numpy()
        acc, prec, rec, f1 = classification_metrics(probs, data.val_y)
        result = EpochResult(epoch, float(np.mean(losses)), val_loss, acc, prec, rec, f1,
                             time.perf_counter() - t0)
        history.append(result)
        if on_epoch is not None:
            on_epoch(result)
        if average_top > 1:
            top.append((val_loss, epoch, copy.deepcopy(model.state_dict())))
            top = sorted(top, key=lambda t: (t[0], t[1]))[:average_top]
        if val_loss < best_loss - 1e-5:
            best_loss, best_state, bad_epochs = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            bad_epochs += 1
            if cfg.early_stopping and bad_epochs >= cfg.early_stopping:
                break
    model.load_state_dict(average_states([t[2] for t in top]) if len(top) > 1 else best_state)
    model.eval()
    return model, history


def average_states(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of several state dicts of one architecture."""
    return {k: torch.stack([s[k].float() for s in states]).mean(0).to(states[0][k].dtype)
            for k in states[0]}
