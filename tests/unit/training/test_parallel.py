"""Heads trained side by side in forked processes: same weights as serial training with one
thread, messages reach the parent, failures and cancellation are reported."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pytest
import torch

from wakebuilder.errors import CancelledError, TrainingError
from wakebuilder.training.config import fast_config
from wakebuilder.training.ensemble import head_config_of, train_heads
from wakebuilder.training.loop import EpochResult, TrainingData
from wakebuilder.training.parallel import run_in_processes

W = (16, 96)


def _data() -> TrainingData:
    rng = np.random.default_rng(0)
    pos = (rng.standard_normal((64, *W)) + 0.5).astype(np.float32)
    hard = rng.standard_normal((16, *W)).astype(np.float32)

    def sample(n: int, r: np.random.Generator) -> np.ndarray:
        return r.standard_normal((n, *W)).astype(np.float32)

    val_x = np.concatenate([pos[:8], hard[:8]])
    val_y = np.concatenate([np.ones(8), np.zeros(8)]).astype(np.float32)
    return TrainingData(pos, np.ones(64, np.float32), hard, sample, val_x, val_y)


def test_parallel_heads_equal_serial_one_thread() -> None:
    cfg = fast_config(num_epochs=3, steps_per_epoch=10, batch_size=16, early_stopping=0)
    head_cfg = head_config_of(cfg)
    data = _data()
    seeds = [11, 12, 13]
    seen: dict[int, list[int]] = {0: [], 1: [], 2: []}

    def hook(i: int) -> Any:
        return lambda r: seen[i].append(r.epoch)

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        serial = train_heads(data, cfg, head_cfg, seeds, hook=lambda i: None, average_top=2)
    finally:
        torch.set_num_threads(previous)
    parallel = train_heads(data, cfg, head_cfg, seeds, hook=hook, average_top=2, workers=2)
    assert seen == {0: [1, 2, 3], 1: [1, 2, 3], 2: [1, 2, 3]}
    for a, b in zip(serial, parallel, strict=True):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    # continuing from given heads (fine-tuning) works the same way
    tuned = train_heads(data, cfg, head_cfg, [5, 6], hook=lambda i: None, inits=parallel[:2],
                        workers=2)
    assert not torch.equal(tuned[0].state_dict()["classifier.1.weight"],
                           parallel[0].state_dict()["classifier.1.weight"])


def _ok(value: int) -> Any:
    def run(send: Any) -> int:
        send(("pid", os.getpid()))
        return value * 10
    return run


def _fail(send: Any) -> int:
    raise ValueError("boom in the child")


def _die(send: Any) -> int:
    os._exit(3)


def _slow(send: Any) -> int:
    time.sleep(30)
    return 0


def test_results_in_order_and_messages() -> None:
    got: list[tuple[int, Any]] = []
    out = run_in_processes([_ok(1), _ok(2), _ok(3)], workers=2,
                           on_message=lambda i, m: got.append((i, m)))
    assert out == [10, 20, 30]
    assert sorted(i for i, _ in got) == [0, 1, 2]
    assert all(m[1] != os.getpid() for _, m in got)  # ran in children


def test_failure_and_death_are_training_errors() -> None:
    with pytest.raises(TrainingError, match="boom in the child"):
        run_in_processes([_ok(1), _fail], workers=2)
    with pytest.raises(TrainingError, match="exit code 3"):
        run_in_processes([_die], workers=2)


def test_cancel_terminates_children() -> None:
    t0 = time.monotonic()
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(CancelledError):
        run_in_processes([_slow, _slow], workers=2, should_cancel=cancel)
    assert time.monotonic() - t0 < 10


def test_epoch_results_pickle() -> None:
    import pickle

    r = EpochResult(1, 0.5, 0.4, 0.9, 0.8, 0.7, 0.75, 0.1)
    assert pickle.loads(pickle.dumps(r)) == r
