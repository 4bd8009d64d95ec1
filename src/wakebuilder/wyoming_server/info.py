"""The ``describe`` answer: one wake program listing every model in the store."""

from __future__ import annotations

from collections.abc import Iterable

from wyoming.info import Attribution, Info, WakeModel, WakeProgram

from wakebuilder import __version__
from wakebuilder.modelstore.manifest import ModelManifest

PROGRAM_NAME = "wakebuilder"
DEFAULT_LANGUAGE = "en"
ATTRIBUTION = Attribution(name="WakeBuilder (Apache-2.0)", url="")
"""Who made it; WakeBuilder runs offline and has no project URL to point at."""


def languages(manifest: ModelManifest) -> list[str]:
    """The model's languages: ``language(s)`` in its training config, else English."""
    for key in ("languages", "language"):
        value = manifest.training_config.get(key)
        if isinstance(value, str) and value:
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return list(value)
    return [DEFAULT_LANGUAGE]


def wake_model(manifest: ModelManifest) -> WakeModel:
    """One model as Home Assistant lists it (name = model id, phrase = wake word)."""
    return WakeModel(name=manifest.id, attribution=ATTRIBUTION, installed=True,
                     description=manifest.wake_word, version=__version__,
                     languages=languages(manifest), phrase=manifest.wake_word)


def build_info(manifests: Iterable[ModelManifest]) -> Info:
    """``Info`` with one wake program holding ``manifests`` in the order given."""
    program = WakeProgram(name=PROGRAM_NAME, attribution=ATTRIBUTION, installed=True,
                          description="WakeBuilder custom wake words", version=__version__,
                          models=[wake_model(m) for m in manifests])
    return Info(wake=[program])
