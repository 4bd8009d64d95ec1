"""The order sources are fetched in: a quick, diverse first wave, then the rest.

The first wave holds sources that download and extract in seconds (measured on the 2-core
box, ``data/logs/corpus_fetch.log`` of 2026-12-01: 6-35 s each) and together cover every kind
(speech in many languages, music, effects), so a first slice of the negative store is ready
within minutes. The slow ones (Flight of the Amazon Queen 2.5 min, Beneath a Steel Sky 4 min,
Warzone 2100 3 min, SuperTux 1.5 min) come last.
"""

from __future__ import annotations

from collections.abc import Sequence

FIRST_WAVE: tuple[str, ...] = (
    "asterisk-en", "music-xmoto", "drascula-en", "effects-lincity", "asterisk-es",
    "music-frozen-bubble", "asterisk-fr", "asterisk-it", "music-etr", "asterisk-ru",
    "klettres", "music-lincity", "ktuberling", "gcin",
)
"""Quick sources, kinds interleaved (speech, music, effects)."""
LAST: tuple[str, ...] = ("music-supertux", "music-warzone2100", "fotaq", "bass")
"""The slowest sources to download and extract."""


def fetch_order(ids: Sequence[str]) -> list[str]:
    """``ids`` reordered: first-wave sources (in :data:`FIRST_WAVE` order), then the others in
    their given order, then the slow ones."""
    first = [i for i in FIRST_WAVE if i in ids]
    last = [i for i in LAST if i in ids]
    middle = [i for i in ids if i not in first and i not in last]
    return first + middle + last


def first_wave(ids: Sequence[str]) -> list[str]:
    """The first-wave sources among ``ids``; when none is known (a custom registry), the first
    source of every kind would be a guess, so the first three ``ids`` stand in."""
    first = [i for i in FIRST_WAVE if i in ids]
    return first or list(ids[:3])
