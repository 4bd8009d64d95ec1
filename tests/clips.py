"""Test audio shared by the real-time end-to-end tests: quiet, and a held-out wake word with
quiet lead and tail that the library itself detects exactly once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from tests.conftest import HELDOUT_WAVS
from wakebuilder.audio.checks import speech_bounds
from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.audio.io import decode_audio
from wakebuilder.detection.detector import Detection

LEAD_S, TAIL_S = 1.0, 1.5


def quiet(seconds: float, seed: int = 0) -> Samples:
    """Low Gaussian noise (a quiet room), repeatable by ``seed``."""
    return np.random.default_rng(seed).normal(0, 5e-4, int(seconds * SAMPLE_RATE)).astype(
        np.float32)


@dataclass
class Clip:
    """A wake word with quiet lead and tail; ``word_*_ms`` from the speech detector."""

    samples: Samples
    word_start_ms: int
    word_end_ms: int
    expected: list[Detection]
    """What the library's own detector finds in ``samples``."""


def first_detected_once(detect: Callable[[Samples], list[Detection]]) -> Clip:
    """The first of 12 held-out recordings that ``detect`` finds exactly once (with
    :data:`LEAD_S` of quiet before and :data:`TAIL_S` after); fails the test if none."""
    for path in HELDOUT_WAVS[:12]:
        word = decode_audio(path)
        samples = np.concatenate([quiet(LEAD_S), word, quiet(TAIL_S, 1)])
        found = detect(samples)
        bounds = speech_bounds(word)
        if len(found) == 1 and bounds is not None:
            start, end = (int(LEAD_S * 1000 + b * 1000 / SAMPLE_RATE) for b in bounds)
            return Clip(samples, start, end, found)
    pytest.fail("the tiny model detects none of the held-out recordings once")
