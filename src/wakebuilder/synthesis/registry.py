"""Find which local TTS engines work on this machine and say why the others do not."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wakebuilder.errors import EngineUnavailableError
from wakebuilder.synthesis.engine import TtsEngine, is_english

_log = logging.getLogger(__name__)


@dataclass
class EngineSet:
    """Available engines by name, and ``{engine_name: reason}`` for those that are not."""

    engines: dict[str, TtsEngine] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.engines)

    def voice_pairs(self, *, english_only: bool = True) -> list[tuple[str, str]]:
        """Every ``(engine_name, voice)``, optionally only English voices."""
        return [(name, voice) for name, engine in self.engines.items()
                for voice in engine.voices()
                if not english_only or is_english(engine.language(voice))]

    def voice_counts(self, *, english_only: bool = False) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name, _ in self.voice_pairs(english_only=english_only):
            counts[name] = counts.get(name, 0) + 1
        return counts


def load_engines(voices_dir: Path | None, *, threads: int = 1,
                 flite_binary: str = "flite") -> EngineSet:
    """Try piper, espeak and flite; an engine that cannot load is reported with its reason."""
    from wakebuilder.synthesis.espeak import EspeakEngine
    from wakebuilder.synthesis.flite import FliteEngine
    from wakebuilder.synthesis.piper import PiperEngine

    factories: dict[str, Callable[[], TtsEngine]] = {
        "piper": lambda: PiperEngine(voices_dir, threads=threads),
        "espeak": EspeakEngine,
        "flite": lambda: FliteEngine(flite_binary),
    }
    result = EngineSet()
    for name, factory in factories.items():
        try:
            result.engines[name] = factory()
        except EngineUnavailableError as exc:
            result.unavailable[name] = exc.message
            _log.warning("TTS engine %s unavailable: %s", name, exc.message)
    return result
