"""Typed model metrics: figures, the Poisson bound, and manifests written before them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import random_model
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.metrics import (
    FalseAccepts,
    HeldoutFalseAccepts,
    ModelMetrics,
    Rejects,
    poisson_upper_95,
)

OLD_METRICS = {
    "accuracy": 0.97, "precision": 0.9, "recall": 0.8, "f1_score": 0.85,
    "fa_per_hour": 0.4, "calibration_hours": 2.5, "frr": 0.12, "frr_tts_heldout": 0.1,
    "frr_user_heldout": 0.0, "frr_user_augmented": 0.2, "frr_user_augmented_is_heldout": True,
    "heldout_positive_count": 181, "train_seconds": 120.5, "onnx_parity_max_diff": 1e-7,
    "onnx_transform_max_diff": 2e-7, "tflite_reference_max_diff": 3e-7,
}


@pytest.mark.parametrize(("events", "bound"), [(0, 2.9957), (1, 4.7439), (5, 10.5130)])
def test_poisson_upper_bound(events: int, bound: float) -> None:
    assert poisson_upper_95(events) == pytest.approx(bound, abs=1e-3)


def test_false_accepts_measure() -> None:
    fa = FalseAccepts.measure(3, 2.0, in_sample=False)
    assert fa.fa_per_hour == 1.5 and fa.events == 3 and fa.hours == 2.0
    assert fa.upper_95_per_hour == pytest.approx(poisson_upper_95(3) / 2.0, abs=1e-4)
    assert fa.upper_95_per_hour > fa.fa_per_hour
    empty = FalseAccepts.measure(0, 0.0, in_sample=True)
    assert empty.fa_per_hour is None and empty.upper_95_per_hour is None


def test_enough_heldout_audio_and_round_trip() -> None:
    short = HeldoutFalseAccepts(**FalseAccepts.measure(0, 0.2, in_sample=False).model_dump())
    long = short.model_copy(update={"hours": 2.0})
    assert not ModelMetrics(heldout=short).enough_heldout_audio
    assert ModelMetrics(heldout=long).enough_heldout_audio
    assert not ModelMetrics().enough_heldout_audio
    m = ModelMetrics(accuracy=0.9, heldout=long, rejects={"overall": Rejects.measure(3, 30)})
    dumped = m.model_dump(mode="json")
    assert dumped["enough_heldout_audio"] is True
    again = ModelMetrics.model_validate(json.loads(json.dumps(dumped)))
    assert again == m and again.frr == 0.1 and again.heldout_fa_per_hour == 0.0


def test_old_flat_metrics_map() -> None:
    m = ModelMetrics.model_validate(OLD_METRICS)
    assert m.heldout is None and not m.enough_heldout_audio
    assert m.calibration is not None and m.calibration.in_sample
    assert m.calibration_fa_per_hour == 0.4 and m.calibration.hours == 2.5
    assert m.calibration.events == 1
    assert m.rejects.overall.frr == 0.12 and m.rejects.overall.count == 181
    assert m.rejects.user_augmented.frr == 0.2 and m.rejects.user_augmented_is_heldout
    assert m.parity.tflite_reference_max_diff == 3e-7 and m.parity.tflite_litert_max_diff is None
    assert (m.accuracy, m.precision, m.recall, m.f1_score) == (0.97, 0.9, 0.8, 0.85)


def test_old_manifest_json_loads(tmp_path: Path) -> None:
    manifest = random_model(tmp_path, "old_word")
    raw = json.loads((tmp_path / "old_word.json").read_text())
    raw["metrics"] = OLD_METRICS
    loaded = ModelManifest.model_validate(raw)
    assert loaded.metrics.calibration_fa_per_hour == 0.4
    assert loaded.metrics.heldout is None
    assert manifest.metrics.parity.onnx_parity_max_diff is not None
    # the new file round-trips through JSON unchanged
    again = ModelManifest.model_validate(json.loads(manifest.model_dump_json()))
    assert again.metrics == manifest.metrics
