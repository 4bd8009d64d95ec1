"""Sources and kinds of negative audio: how a source's kind is guessed, and the one rule that
selects sources (exclusion by exact id or ``prefix/``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

KINDS = ("speech", "noise", "music", "tts", "other")
GENERATED_SOURCE = "generated"
"""The source id of the generated corpus (TTS, noise, music made on this machine)."""

CORPUS_KIND_PREFIXES = {"music-": "music", "effects-": "noise"}
"""Corpus sources named ``music-*`` hold real music and ``effects-*`` real sound effects
(stored as kind ``noise``: non-speech, non-music); every other corpus source is speech."""


def guess_kind(source: str, path: Path) -> str:
    """Default kind from folder and file names (``corpus`` is natural speech, except its
    music and effects sources, see :data:`CORPUS_KIND_PREFIXES`)."""
    top, _, rest = source.partition("/")
    if top.lower() == "corpus":
        for prefix, kind in CORPUS_KIND_PREFIXES.items():
            if rest.lower().startswith(prefix):
                return kind
        return "speech"
    if top.lower() == "speech":
        return "speech"
    words = " ".join([source, *path.parts[-3:]]).lower()
    for kind, keys in (("tts", ("tts", "synth", "piper", "espeak", "flite", "festival")),
                       ("music", ("music", "song")), ("noise", ("noise", "ambient")),
                       ("speech", ("corpus", "speech", "voice"))):
        if any(k in words for k in keys):
            return kind
    return "other"


def source_matches(source: str, patterns: Sequence[str]) -> bool:
    """True when ``source`` is named in ``patterns`` exactly, or lies under one of them that
    ends with ``/`` (``corpus/`` matches every corpus source). The one rule behind
    ``exclude_negative_sources``: for stored embeddings and for background audio alike."""
    return any(source == x or (x.endswith("/") and source.startswith(x)) for x in patterns)
