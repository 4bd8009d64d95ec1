"""AugmentChain, the default chains for wake-word training, and window placement."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.augment.background_noise import AddBackground
from wakebuilder.augment.bank import BackgroundBank
from wakebuilder.augment.codec import Codec
from wakebuilder.augment.filters import MicResponse
from wakebuilder.augment.gain import GainDb
from wakebuilder.augment.pitch import PitchShift
from wakebuilder.augment.reverb import Reverb
from wakebuilder.augment.speed import SpeedPerturb
from wakebuilder.augment.transform import Transform, check_samples
from wakebuilder.augment.vocal_tract import VocalTractWarp

PEAK_LIMIT = 0.99


class AugmentChain:
    """Apply transforms in order (each with its own ``p``), then keep the peak below a limit."""

    def __init__(self, transforms: Sequence[Transform], *,
                 peak_limit: float | None = PEAK_LIMIT) -> None:
        """
        :param transforms: applied in this order.
        :param peak_limit: scale the result down when its peak exceeds this (None: never),
            so the int16 features never see clipping that the recordings did not have.
        """
        if not all(isinstance(t, Transform) for t in transforms):
            raise ValueError("every element of transforms must be a Transform")
        if peak_limit is not None and not 0 < peak_limit <= 1:
            raise ValueError(f"peak_limit must lie in (0, 1], got {peak_limit}")
        self.transforms = list(transforms)
        self.peak_limit = peak_limit

    def __call__(self, samples: Samples, rng: np.random.Generator) -> Samples:
        data = check_samples(samples)
        for transform in self.transforms:
            data = transform(data, rng)
        peak = float(np.max(np.abs(data))) if data.size else 0.0
        if self.peak_limit is not None and peak > self.peak_limit:
            data = data * np.float32(self.peak_limit / peak)
        return data.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"AugmentChain([{inner}], peak_limit={self.peak_limit})"


def _speaker_and_channel_chain(bank: BackgroundBank) -> AugmentChain:
    # Speaker (new voices from one), then room, then what the microphone hears: the word
    # and the background together through one mic response, codec and level.
    return AugmentChain([
        SpeedPerturb(min_factor=0.85, max_factor=1.15, p=0.6),
        PitchShift(min_semitones=-3.0, max_semitones=3.0, p=0.5),
        VocalTractWarp(min_factor=0.85, max_factor=1.15, p=0.6),
        Reverb(min_rt60_s=0.1, max_rt60_s=0.9, min_drr_db=0.0, max_drr_db=15.0, p=0.5),
        AddBackground(bank, min_snr_db=0.0, max_snr_db=20.0, p=0.8),
        MicResponse(p=0.5),
        Codec(p=0.1),
        GainDb(min_gain_db=-18.0, max_gain_db=6.0, p=1.0),
    ])


def default_positive_chain(bank: BackgroundBank) -> AugmentChain:
    """Wake-word positives: speed, pitch, vocal tract, reverb (p 0.5), background at
    0-20 dB SNR (p 0.8), mic response, codec, gain; peak kept below 0.99."""
    return _speaker_and_channel_chain(bank)


def default_negative_chain(bank: BackgroundBank) -> AugmentChain:
    """Negatives get the same distribution as positives: neither the voice warping nor the
    noise, room or channel may become a cue for the wake word."""
    return _speaker_and_channel_chain(bank)


def place_in_window(clip: Samples, *, window_samples: int, end_offset_samples: int,
                    rng: np.random.Generator, background: Samples | None = None) -> Samples:
    """Place ``clip`` in a window so it ends at ``window_samples - end_offset_samples``.

    A clip longer than the room before that point loses its beginning (the end, where a
    detector fires, is kept). Elsewhere the window is zeros or, when ``background`` is
    given, a random slice of it (looped when short), which also runs under the clip so its
    texture has no seam at the clip's edges.
    """
    data = check_samples(clip)
    if window_samples <= 0:
        raise ValueError(f"window_samples must be positive, got {window_samples}")
    if not 0 <= end_offset_samples < window_samples:
        raise ValueError("end_offset_samples must lie in [0, window_samples), "
                         f"got {end_offset_samples} for a window of {window_samples}")
    out = np.zeros(window_samples, dtype=np.float32)
    if background is not None:
        bg = check_samples(background)
        if bg.size == 0:
            raise ValueError("background must not be empty")
        start = int(rng.integers(bg.size))
        out += bg[(start + np.arange(window_samples)) % bg.size]
    end = window_samples - end_offset_samples
    kept = data[max(0, data.size - end):]
    out[end - kept.size:end] += kept
    return out
