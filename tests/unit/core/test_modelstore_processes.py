"""Model-id reservation across processes: concurrent publishers of one slug get distinct ids."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

from wakebuilder.detection.config import DetectorConfig
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.store import ModelStore

PROCESSES = 4
ROUNDS = 3


def _publisher(root: str, start: float) -> list[str]:
    """Publish ``word`` ROUNDS times, each file stamped with this process id."""
    store = ModelStore(Path(root))
    time.sleep(max(0.0, start - time.time()))  # all processes start together
    ids = []
    for _ in range(ROUNDS):
        with store.staging("word") as (model_id, tmp):
            stamp = f"{os.getpid()}:{model_id}"
            (tmp / f"{model_id}.onnx").write_text(stamp)
            time.sleep(0.05)
            manifest = ModelManifest(id=model_id, wake_word="word", threshold=0.5,
                                     detector=DetectorConfig(), notes=[stamp])
            (tmp / f"{model_id}.json").write_text(manifest.model_dump_json())
        ids.append(stamp)
    return ids


def test_concurrent_processes_get_distinct_ids(tmp_path: Path) -> None:
    root = tmp_path / "models"
    ModelStore(root)
    start = time.time() + 2.0
    with mp.get_context("spawn").Pool(PROCESSES) as pool:
        stamps = [s for r in pool.starmap(_publisher, [(str(root), start)] * PROCESSES)
                  for s in r]
    ids = [s.split(":")[1] for s in stamps]
    expected = {"word"} | {f"word_v{n}" for n in range(2, PROCESSES * ROUNDS + 1)}
    assert sorted(ids) == sorted(expected)  # every publish got its own id, none failed
    for stamp, model_id in zip(stamps, ids, strict=True):  # complete, and the writer's own
        assert (root / model_id / f"{model_id}.onnx").read_text() == stamp
        assert ModelStore(root).get(model_id).notes == [stamp]
    assert sorted(p.name for p in root.iterdir()) == sorted(expected)  # no staging left
