"""Fixtures shared by every test package.

``trained_model_dir`` trains one tiny real model (fast configuration) for tests that need
one. Training is slow, so the model and its data directory (generated negatives, features)
live in pytest's cache directory (``.pytest_cache``) and are reused by later sessions;
``pytest --cache-clear`` or ``WAKEBUILDER_TEST_RETRAIN=1`` trains afresh. A file lock keeps
concurrent sessions from training at the same time.

``negative_store_template`` is the one shared negative store of the slow tests: the generated
corpus, synthesised and embedded once (cached the same way, keyed by a hash of the code that
makes it); :func:`seed_negative_store` gives a test's data directory its own copy.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEV_DATA = SHARED / "dev-data"
COMPUTER_WAVS = sorted((DEV_DATA / "precise" / "computer").glob("*.wav"))
TRAIN_WAVS = COMPUTER_WAVS[:3]
"""The enrolment recordings of ``trained_model_dir``; every other "computer" clip is held out."""
HELDOUT_WAVS = COMPUTER_WAVS[3:]
MODEL_WAKE_WORD = "computer"


def tone(seconds: float = 1.0, freq_hz: float = 440.0, amplitude: float = 0.3,
         sample_rate: int = 16_000) -> npt.NDArray[np.float32]:
    """A sine tone as float32 samples."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


@pytest.fixture(scope="session")
def computer_clips() -> list[Path]:
    """Real recordings of "computer" (shared dev data); skips when they are missing."""
    if not COMPUTER_WAVS:
        pytest.skip("shared dev recordings are missing")
    return COMPUTER_WAVS


def _add_natural_negatives(negative_dir: Path, per_word: int = 60) -> None:
    """Real speech of other words for the tiny model's negatives and calibration.

    Without natural speech, a model trained on generated negatives fires on real voices. The
    not-wake-word clips stay out: the tests use them as unseen speech.
    """
    import soundfile as sf

    for word in ("athena", "amelia"):
        target = negative_dir / "devdata" / word
        target.mkdir(parents=True, exist_ok=True)
        for src in sorted((DEV_DATA / "precise" / word).glob("*.wav"))[:per_word]:
            data, rate = sf.read(src, dtype="int16")
            sf.write(target / src.name, data, rate)


NEGATIVE_STORE_CODE = ("negstore", "synthesis", "augment", "features")
"""Packages whose code decides what the generated negative corpus holds."""


TRAINED_MODEL_CODE = ("training", "pipeline", "negstore", "features", "detection",
                      "modelstore", "synthesis", "augment")
"""Packages whose code decides what the cached test model is."""


def _negative_store_key() -> str:
    """A short hash of the code that makes the generated corpus (a change rebuilds it)."""
    return _code_key(NEGATIVE_STORE_CODE)


def _code_key(packages: tuple[str, ...]) -> str:
    """A short hash of every module of ``packages`` (paths and contents)."""
    import hashlib

    src = Path(__file__).resolve().parents[1] / "src" / "wakebuilder"
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted((src / package).rglob("*.py")):
            digest.update(path.relative_to(src).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def negative_store_template(request: pytest.FixtureRequest) -> Path:
    """A data directory whose negative store holds the generated corpus (TTS sentences,
    noise, music: synthesised and embedded once, then reused by later sessions from
    ``.pytest_cache``, keyed by a hash of the code that makes it). Read-only: give each test
    its own copy with :func:`seed_negative_store`."""
    root = Path(request.config.cache.mkdir(f"wakebuilder-negatives-{_negative_store_key()}"))
    data = root / "data"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "complete").exists():
            from wakebuilder.layout import DataLayout
            from wakebuilder.negstore.build import build_negative_cache

            shutil.rmtree(data, ignore_errors=True)
            build_negative_cache(DataLayout(data))
            (root / "complete").touch()
    return data


def seed_negative_store(template: Path, data_dir: Path) -> Path:
    """Give ``data_dir`` (a data directory) a copy of the template's negative store, replacing
    any store it had; returns ``data_dir``."""
    from wakebuilder.layout import DataLayout

    src, dst = DataLayout(template).negative_store_dir, DataLayout(data_dir).negative_store_dir
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".lock"))
    return data_dir


def _model_dir(models: Path) -> Path | None:
    """The one complete model directory under ``models`` (``{id}.json`` and ``{id}.onnx``)."""
    for d in sorted(models.iterdir()) if models.is_dir() else []:
        if (d / f"{d.name}.json").is_file() and (d / f"{d.name}.onnx").is_file():
            return d
    return None


@pytest.fixture(scope="session")
def trained_model_dir(request: pytest.FixtureRequest) -> Path:
    """A model directory (``{id}.onnx``, ``{id}.json``) of a tiny "computer" model.

    Trained from :data:`TRAIN_WAVS` with ``fast_config(seed=0)``; treat it as read-only.
    Cached in ``.pytest_cache`` under a hash of the training code (:data:`TRAINED_MODEL_CODE`),
    so a change to that code trains it again.
    """
    if len(COMPUTER_WAVS) < 6:
        pytest.skip("shared dev recordings are missing")
    root = Path(request.config.cache.mkdir(
        f"wakebuilder-trained-model-{_code_key(TRAINED_MODEL_CODE)}"))
    models = root / "models"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.environ.get("WAKEBUILDER_TEST_RETRAIN") == "1" and models.exists():
            shutil.rmtree(models)
        found = _model_dir(models)
        if found is None:
            from wakebuilder.layout import DataLayout
            from wakebuilder.pipeline.request import TrainRequest
            from wakebuilder.pipeline.run import run_training
            from wakebuilder.training.config import fast_config

            shutil.rmtree(models, ignore_errors=True)
            paths = DataLayout(root / "data").with_models_dir(models)
            seed_negative_store(request.getfixturevalue("negative_store_template"),
                                paths.data_dir)
            _add_natural_negatives(paths.negative_dir)
            from wakebuilder.negstore.build import build_negative_cache

            build_negative_cache(paths)
            run_training(TrainRequest(MODEL_WAKE_WORD, list(TRAIN_WAVS), fast_config(seed=0)),
                         paths, threads=2)
            found = _model_dir(models)
        if found is None:
            raise RuntimeError(f"training wrote no model under {models}")
        return found
