"""Versioned ids, atomic publishing and path confinement."""

from pathlib import Path

import pytest

from tests.helpers import random_model
from wakebuilder.errors import ConflictError, InvalidInputError, ModelNotFoundError
from wakebuilder.modelstore.store import ModelStore, confined


def publish(store: ModelStore, slug: str) -> str:
    with store.staging(slug) as (mid, tmp):
        random_model(tmp, mid)
    return mid


def test_retrain_gets_a_new_version(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    assert [publish(store, "hey_jarvis") for _ in range(3)] == [
        "hey_jarvis", "hey_jarvis_v2", "hey_jarvis_v3"]
    assert {m.id for m in store.list()} == {"hey_jarvis", "hey_jarvis_v2", "hey_jarvis_v3"}


def test_failed_write_publishes_nothing(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(RuntimeError), store.staging("broken") as (mid, tmp):
        (tmp / f"{mid}.onnx").write_bytes(b"half")
        raise RuntimeError("crash mid-write")
    assert store.list() == []
    assert list((tmp_path / "models").iterdir()) == []


@pytest.mark.parametrize("bad", ["..", "../x", "/etc/passwd", "a/b", "%2E%2E", "", "A"])
def test_bad_ids_are_refused(tmp_path: Path, bad: str) -> None:
    store = ModelStore(tmp_path / "models")
    canary = tmp_path / "canary.txt"
    canary.write_text("alive")
    with pytest.raises((InvalidInputError, ModelNotFoundError)):
        store.delete(bad)
    assert canary.read_text() == "alive"


def test_confined_refuses_escape(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        confined(tmp_path, "..", "x")
    assert confined(tmp_path, "a") == (tmp_path / "a").resolve()


def test_default_models_are_read_only(tmp_path: Path) -> None:
    defaults = ModelStore(tmp_path / "defaults")
    publish(defaults, "alexa")
    store = ModelStore(tmp_path / "models", default_root=tmp_path / "defaults")
    assert [m.type for m in store.list("default")] == ["default"]
    with pytest.raises(ConflictError):
        store.delete("alexa")
    assert store.get("alexa").id == "alexa"
