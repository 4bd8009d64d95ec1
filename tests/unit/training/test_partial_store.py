"""A job that opens the negative store while a build is still running says so: the manifest
records ``negatives_partial`` (and the stage), and the first note tells the user to retrain."""

from __future__ import annotations

import os
from pathlib import Path

from wakebuilder.layout import DataLayout
from wakebuilder.negstore.status import StatusWriter
from wakebuilder.pipeline.dataset import note_partial_store
from wakebuilder.pipeline.request import TrainRequest
from wakebuilder.pipeline.state import JobState
from wakebuilder.training.config import DataPlan, TrainConfig


def _state() -> JobState:
    return JobState(TrainRequest("word", [], TrainConfig(), DataPlan()),
                    progress=lambda e: None, should_cancel=lambda: False, threads=1)


def test_a_running_build_is_recorded_and_said_first(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path / "data")
    writer = StatusWriter(layout.negative_store_dir)
    writer.stage("fetching and embedding the rest", 0.4)
    writer.update(pid=os.getpid())  # a live builder
    state = _state()
    state.notes.append("an earlier note")
    note_partial_store(state, layout, 3.25)
    assert state.stats["negatives_partial"] is True
    assert state.stats["negative_store_stage"] == "fetching and embedding the rest"
    assert state.notes[0].startswith("Partial negatives") and "3.2 h" in state.notes[0]


def test_a_finished_or_dead_build_is_not_partial(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path / "data")
    state = _state()
    note_partial_store(state, layout, 25.0)  # no build state at all
    assert state.stats["negatives_partial"] is False and not state.notes
    writer = StatusWriter(layout.negative_store_dir)
    writer.stage("embedding the full store", 0.9)
    writer.update(pid=2**22 + 12345)  # no such process: the build was interrupted
    note_partial_store(state, layout, 20.0)
    assert state.stats["negatives_partial"] is False and not state.notes
