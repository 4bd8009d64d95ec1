"""Sources and kinds of negative audio: how a source's kind is guessed, how a mixture's name
records its components, and the one rule that selects sources (exclusion by exact id,
``prefix/``, or a stable share of one source's files, ``source#k/n``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from wakebuilder.training.config import share_of

KINDS = ("speech", "noise", "music", "tts", "mixture", "other")
GENERATED_SOURCE = "generated"
"""The source id of the generated corpus (TTS, noise, music made on this machine)."""
MIXTURE_SOURCE = "mixture"
"""The source id of the mixtures ("TV-like" audio: speech over music or effects, two voices
at once) made from the corpus, see :mod:`wakebuilder.negstore.mixtures`."""
MIXTURE_KIND = "mixture"

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


def mixture_name(split: str, mix_type: str, index: int, components: Sequence[str],
                 version: int = 1) -> str:
    """The stored name of a mixture: ``v1/<split>/<type>/<index>@<source>+<source>``, so its
    planned split and its component sources are known without re-embedding anything."""
    return f"v{version}/{split}/{mix_type}/{index:03d}@{'+'.join(sorted(set(components)))}"


def mixture_components(name: str) -> tuple[str, ...]:
    """The component sources recorded in a mixture's name (empty when it records none)."""
    _, at, tail = name.partition("@")
    return tuple(c for c in tail.split("+") if c) if at else ()


def mixture_planned_split(name: str) -> str:
    """The split a mixture was made for (the second part of its name)."""
    parts = name.split("/")
    return parts[1] if len(parts) > 2 else ""


def entry_sources(source: str, name: str) -> tuple[str, ...]:
    """The sources an entry's audio comes from: its components for a mixture, else itself."""
    if source == MIXTURE_SOURCE:
        return mixture_components(name) or (source,)
    return (source,)


def entry_excluded(source: str, name: str, patterns: Sequence[str]) -> bool:
    """True when the entry's source, or any component of a mixture, is excluded, or the entry
    lies in an excluded share of its source (a mixture with a component whose source has an
    excluded share is excluded too)."""
    return bool(patterns) and (
        _whole_source_matches(source, patterns)
        or any(_whole_source_matches(c, patterns) for c in entry_sources(source, name))
        or _share_excludes(source, name, patterns))


def entry_selected(source: str, name: str, patterns: Sequence[str]) -> bool:
    """True when the entry's source is selected, or every component of a mixture is."""
    return _whole_source_matches(source, patterns) or (source == MIXTURE_SOURCE and all(
        _whole_source_matches(c, patterns) for c in entry_sources(source, name)))


def file_part(source: str, name: str, parts: int) -> int:
    """The stable part (of ``parts``) a stored file of ``source`` belongs to."""
    digest = hashlib.sha256(f"share|{source}|{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") * parts >> 64


def _share_excludes(source: str, name: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        share = share_of(pattern)
        if share is None:
            continue
        src, k, n = share
        if source == src and file_part(source, name, n) == k:
            return True
        if source == MIXTURE_SOURCE and src in mixture_components(name):
            return True  # a mixture records its component sources, not their files
    return False


def source_matches(source: str, patterns: Sequence[str]) -> bool:
    """True when ``source`` is named in ``patterns`` exactly, or lies under one of them that
    ends with ``/`` (``corpus/`` matches every corpus source), or (for background audio,
    which is chosen by source) has a share excluded by a ``source#k/n`` pattern. The one
    rule behind ``exclude_negative_sources``, for stored embeddings (:func:`entry_excluded`,
    which applies shares file by file) and for background audio alike."""
    return _whole_source_matches(source, patterns) or any(
        share[0] == source for share in map(share_of, patterns) if share is not None)


def _whole_source_matches(source: str, patterns: Sequence[str]) -> bool:
    return any(source == x or (x.endswith("/") and source.startswith(x)) for x in patterns)
