"""No leakage: held-out TTS voices, the untouched recording and the validation / calibration /
held-out negative splits never reach training (windows, sampler or mining)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wakebuilder.pipeline import dataset as dataset_step
from wakebuilder.pipeline import fit as fit_step
from wakebuilder.pipeline.request import TrainRequest
from wakebuilder.pipeline.state import JobState
from wakebuilder.synthesis.generate import SynthClip
from wakebuilder.training.config import DataPlan, fast_config
from wakebuilder.training.voices import split_voices

ENGINES = {"espeak": 10, "piper": 7, "flite": 3}


def _clips(per_voice: int = 3, hard: bool = False) -> list[SynthClip]:
    out = []
    for engine, n in ENGINES.items():
        for v in range(n):
            for i in range(per_voice):
                samples = np.full(4000, 0.01 * (i + 1), np.float32)
                out.append(SynthClip(samples, "hard" if hard else "word", engine, f"v{v}"))
    return out


def test_voice_split_holds_out_whole_voices() -> None:
    clips = _clips()
    train, held = split_voices(clips, np.random.default_rng(0), fraction=0.15, min_voices=4)
    assert not train & held
    assert train | held == {(c.engine, c.voice) for c in clips}
    per_engine = {e: sum(1 for x in held if x[0] == e) for e in ENGINES}
    assert per_engine == {"espeak": 2, "piper": 1, "flite": 0}  # round(15 %), none under 4
    again = split_voices(clips, np.random.default_rng(0), fraction=0.15, min_voices=4)
    assert again == (train, held)


class SpyNegatives:
    """A NegativeSource that records which split every request names."""

    train_hours = validation_hours = calibration_hours = heldout_hours = 1.0
    natural_speech_hours = 1.0
    heldout_sources = ["corpus/held"]

    def __init__(self) -> None:
        self.sampled: list[str] = []
        self.streamed: list[str] = []

    def sample_windows(self, n: int, rng: np.random.Generator, *, split: str) -> np.ndarray:
        self.sampled.append(split)
        return np.zeros((n, 16, 96), np.float32)

    def split_streams(self, split: str) -> Iterator[np.ndarray]:
        self.streamed.append(split)
        yield np.zeros((40, 96), np.float32)

    def streams_by_kind(self, split: str) -> dict[str, list[np.ndarray]]:
        self.streamed.append(split)
        return {"speech": [np.zeros((40, 96), np.float32)]}

    def background_audio(self, rng: np.random.Generator) -> list[Any]:
        return []


def test_no_heldout_or_validation_material_in_training(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    calls: list[list[int]] = []

    def fake_windows(fe: Any, clips: list[np.ndarray], n: int, *a: Any, **k: Any) -> np.ndarray:
        calls.append([id(c) for c in clips] if n > 0 else [])
        return np.zeros((2 * n if clips else 0, 16, 96), np.float32)

    monkeypatch.setattr(dataset_step.D, "windows_from_clips", fake_windows)
    monkeypatch.setattr(dataset_step, "get_frontend", lambda threads: None)
    cfg = fast_config(target_positive_samples=60, num_epochs=1, steps_per_epoch=20,
                      batch_size=16, mined_negatives=10)
    state = JobState(TrainRequest("word", [], cfg, DataPlan()), progress=lambda e: None,
                     should_cancel=lambda: False, threads=1)
    train_user = [np.full(8000, 0.1, np.float32), np.full(8000, 0.2, np.float32)]
    heldout_user = [np.full(8000, 0.3, np.float32)]
    pos, hard = _clips(), _clips(hard=True)
    neg = SpyNegatives()
    ds = dataset_step.build_dataset(state, neg, train_user, heldout_user, pos, hard)  # type: ignore[arg-type]

    held_voices = {(c.engine, c.voice) for c in pos if any(c.samples is h
                                                            for h in ds.heldout_tts)}
    assert held_voices and len(held_voices) == 3  # 2 of 10 espeak, 1 of 7 piper voices
    held_ids = ({id(c.samples) for c in pos + hard if (c.engine, c.voice) in held_voices}
                | {id(c) for c in heldout_user})
    assert ds.heldout_tts and len(calls) == 6
    train_calls, val_pos_calls = calls[:3], calls[3:5]
    for ids in train_calls:  # user, TTS positives, hard negatives
        assert ids and not set(ids) & held_ids
    assert set(val_pos_calls[0]) <= {id(c) for c in ds.heldout_tts}
    assert set(val_pos_calls[1]) == {id(c) for c in heldout_user}
    assert neg.sampled == ["validation"]  # early-stopping negatives

    ds.training.sample_negatives(5, np.random.default_rng(0))
    assert neg.sampled[-1] == "train"
    fit_step.fit(state, ds.training, neg)  # type: ignore[arg-type]
    assert neg.streamed == ["train"]  # mining reads the training split only
    assert set(neg.sampled[1:]) == {"train"}
