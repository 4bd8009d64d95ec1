"""Every head kind trains (a few optimiser steps, mining and fine-tuning included) and exports
to files whose scores match torch."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from wakebuilder.detection.model import WakeModel
from wakebuilder.modelstore.export import check_parity, export_onnx
from wakebuilder.training.config import DataPlan, fast_config
from wakebuilder.training.ensemble import (
    continue_training,
    finetune_config,
    head_config_of,
    train_ensemble,
)
from wakebuilder.training.loop import TrainingData, average_states

KINDS = [dict(model_type="mlp"), dict(model_type="tcn"), dict(model_type="attention"),
         dict(model_type="ast", use_se_block=True), dict(model_type="ast", use_tcn=True,
                                                        use_attention=True)]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: tiny batches run ~20x faster than with 2 threads on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(rng: np.random.Generator) -> TrainingData:
    pos = (rng.normal(0.5, 1, (64, 16, 96))).astype(np.float32)

    def neg(n: int, r: np.random.Generator) -> np.ndarray:
        return r.normal(-0.5, 1, (n, 16, 96)).astype(np.float32)

    val_x = np.concatenate([pos[:8], neg(8, rng)])
    return TrainingData(pos, np.ones(64, np.float32), neg(16, rng), neg, val_x,
                        np.r_[np.ones(8), np.zeros(8)].astype(np.float32))


@pytest.mark.parametrize("options", KINDS, ids=lambda o: "-".join(f"{k}={v}" for k, v in
                                                                   o.items()))
def test_head_kind_trains_and_exports(options: dict, tmp_path: Path) -> None:
    cfg = fast_config(num_epochs=1, steps_per_epoch=20, batch_size=16, ensemble=2,
                      mined_negatives=20, **options)
    rng = np.random.default_rng(0)
    data = _data(rng)
    streams = [rng.normal(0, 1, (60, 96)).astype(np.float32)]
    epochs: list[tuple[int, str, int]] = []
    trained = train_ensemble(data, cfg, DataPlan(), mining_streams=lambda: streams,
                             on_epoch=lambda i, stage, e, r: epochs.append((i, stage, e)))
    plan = DataPlan()
    ft = plan.finetune_epochs(cfg)
    assert trained.head_config == head_config_of(cfg)
    assert trained.head_config.kind == cfg.head_kind()
    assert epochs == [(i, "train", 1) for i in range(2)] + [
        (i, "fine-tune", 1 + e) for i in range(2) for e in range(1, ft + 1)]
    assert 0 < trained.mined_negatives <= 20
    assert set(trained.validation) == {"accuracy", "precision", "recall", "f1_score"}
    onnx = export_onnx(trained.model, tmp_path / "kind.onnx", 0.5)
    assert check_parity(trained.model, onnx) < 1e-5  # the .tflite path: tests/unit/core
    x = rng.normal(0, 1, (32, 16, 96)).astype(np.float32)
    with torch.no_grad():
        ref = trained.model(torch.from_numpy(x)).numpy().reshape(-1)
    assert np.max(np.abs(WakeModel(onnx).score(x) - ref)) < 1e-5


def test_finetune_config_follows_the_recipe() -> None:
    cfg = fast_config(num_epochs=12, learning_rate=0.002, hard_negative_ratio=0.1)
    plan = DataPlan(finetune_epoch_divisor=3, finetune_lr_factor=0.25,
                    finetune_min_hard_ratio=0.4)
    ft = finetune_config(cfg, plan)
    assert (ft.num_epochs, ft.learning_rate, ft.hard_negative_ratio) == (4, 0.0005, 0.4)
    assert DataPlan().finetune_epochs(cfg.model_copy(update={"mined_negatives": 0})) == 0


def test_continue_training_adds_data_keeps_fold_validation_and_averages() -> None:
    cfg = fast_config(num_epochs=1, steps_per_epoch=20, batch_size=16, ensemble=2,
                      mined_negatives=10)
    rng = np.random.default_rng(3)
    data = _data(rng)
    streams = [rng.normal(0, 1, (60, 96)).astype(np.float32)]
    plan = DataPlan(final_epochs=3, checkpoint_average=2)
    trained = train_ensemble(data, cfg, plan, mining_streams=lambda: streams)
    assert trained.hard_negatives is not None
    assert len(trained.hard_negatives) == len(data.hard_negatives) + trained.mined_negatives
    before = [copy.deepcopy(h.state_dict()) for h in trained.model.heads]
    more = np.concatenate([data.positives, rng.normal(0.5, 1, (8, 16, 96)).astype(np.float32)])
    bigger = replace(data, positives=more, positive_weights=np.ones(len(more), np.float32),
                     hard_negatives=trained.hard_negatives)
    epochs: list[tuple[int, str, int]] = []
    final = continue_training(trained, bigger, cfg, plan,
                              on_epoch=lambda i, stage, e, r: epochs.append((i, stage, e)))
    offset = cfg.num_epochs + plan.finetune_epochs(cfg)
    assert epochs == [(i, "final", offset + e) for i in range(2) for e in range(1, 4)]
    assert final.validation == trained.validation  # the fold's honest figures
    after = [h.state_dict() for h in final.model.heads]
    assert any(not torch.equal(before[0][k], after[0][k]) for k in after[0])


def test_average_states_is_the_elementwise_mean() -> None:
    a = {"w": torch.tensor([1.0, 2.0]), "b": torch.tensor([0.0])}
    b = {"w": torch.tensor([3.0, 6.0]), "b": torch.tensor([1.0])}
    mean = average_states([a, b])
    assert torch.equal(mean["w"], torch.tensor([2.0, 4.0]))
    assert torch.equal(mean["b"], torch.tensor([0.5]))


def test_fast_dropout_rate_scale_and_eval_identity() -> None:
    import torch

    from wakebuilder.training.head import FastDropout

    torch.manual_seed(0)
    drop = FastDropout(0.5)
    x = torch.ones(200_000)
    y = drop(x)
    kept = y != 0
    assert abs(float(kept.float().mean()) - 0.5) < 0.01
    assert torch.all(y[kept] == 2.0)  # inverted dropout keeps the expectation
    drop.eval()
    assert drop(x) is x
    assert FastDropout(0.0).train()(x) is x
