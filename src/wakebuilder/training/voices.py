"""The voice split of synthesised clips: whole voices are held out of training (for
validation and false-reject measurement), never single clips."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.synthesis.generate import SynthClip

Voice = tuple[str, str]
"""(engine, voice)"""


def split_voices(clips: Sequence[SynthClip], rng: np.random.Generator, *, fraction: float,
                 min_voices: int) -> tuple[set[Voice], set[Voice]]:
    """(training voices, held-out voices): ``round(fraction * n)`` of each engine's ``n``
    voices (in order of first appearance, shuffled by ``rng``) are held out when the engine
    has at least ``min_voices``."""
    by_engine: dict[str, list[str]] = {}
    for c in clips:
        voices = by_engine.setdefault(c.engine, [])
        if c.voice not in voices:
            voices.append(c.voice)
    held: set[Voice] = set()
    train: set[Voice] = set()
    for engine, voices in by_engine.items():
        order = [voices[i] for i in rng.permutation(len(voices))]
        k = int(round(len(order) * fraction)) if len(order) >= min_voices else 0
        held |= {(engine, v) for v in order[:k]}
        train |= {(engine, v) for v in order[k:]}
    return train, held


def clips_of(clips: Sequence[SynthClip], voices: set[Voice]) -> list[Samples]:
    """The samples of the clips spoken by ``voices``."""
    return [c.samples for c in clips if (c.engine, c.voice) in voices]
