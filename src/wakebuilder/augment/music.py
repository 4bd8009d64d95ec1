"""Procedural music-like signals, so music backgrounds and negatives exist offline.

A piece has a random tempo (70-160 bpm), key and mode, a four-chord progression played as
pads or arpeggios of additive-synthesis notes (random harmonic roll-off, attack and decay),
a bass line on the beats and, most of the time, drums: kick (falling sine), snare (noise
burst plus tone) and hi-hat (high-passed noise).
"""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.augment.level import scale_to_rms_db

MUSIC_RMS_DB = -20.0
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)


def _midi_hz(note: float) -> float:
    return float(440.0 * 2.0 ** ((note - 69) / 12))


def _note(freq_hz: float, n: int, rng: np.random.Generator, *, n_harmonics: int,
          rolloff: float, decay_s: float) -> np.ndarray:
    """One additive-synthesis note of ``n`` samples with an attack/decay envelope."""
    t = np.arange(n) / SAMPLE_RATE
    ks = np.arange(1, n_harmonics + 1)
    ks = ks[ks * freq_hz < SAMPLE_RATE / 2 - 200]
    amps = ks ** -rolloff
    tone = np.sin(2 * np.pi * freq_hz * np.outer(t, ks) + rng.uniform(0, 6.3, ks.size)) @ amps
    attack = np.minimum(t / rng.uniform(0.003, 0.05), 1.0)
    release = np.minimum((n - np.arange(n)) / (0.01 * SAMPLE_RATE), 1.0)
    return np.asarray(tone * attack * np.exp(-t / decay_s) * release)


def _drum(kind: str, rng: np.random.Generator) -> np.ndarray:
    n = int(0.25 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    if kind == "kick":
        freq = 50 + 100 * np.exp(-t / 0.03)
        return np.asarray(np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * np.exp(-t / 0.12))
    noise = rng.standard_normal(n)
    if kind == "snare":
        tone = 0.5 * np.sin(2 * np.pi * 190 * t)
        return np.asarray((0.6 * noise + tone) * np.exp(-t / 0.06))
    return np.asarray(np.diff(noise, prepend=0.0) * 0.3 * np.exp(-t / 0.02))


def _add(out: np.ndarray, start: int, sound: np.ndarray, gain: float) -> None:
    skip = max(0, -start)
    begin, end = start + skip, min(out.size, start + sound.size)
    if begin < end:
        out[begin:end] += gain * sound[skip:skip + end - begin]


def generate_music(n_samples: int, rng: np.random.Generator) -> Samples:
    """``n_samples`` of procedural music at ``MUSIC_RMS_DB`` dBFS (see module docs)."""
    beat = int(60.0 / rng.uniform(70, 160) * SAMPLE_RATE)
    scale = _MAJOR if rng.random() < 0.5 else _MINOR
    root = int(rng.integers(48, 60))
    progression = rng.integers(0, 7, 4)
    arpeggio = rng.random() < 0.5
    n_harmonics = int(rng.integers(1, 10))
    rolloff, decay_s = float(rng.uniform(0.7, 2.5)), float(rng.uniform(0.2, 1.5))
    drums = rng.random() < 0.75
    out = np.zeros(n_samples)
    bar = 4 * beat
    for bar_index, start in enumerate(range(-int(rng.integers(bar)), n_samples, bar)):
        degree = int(progression[bar_index % 4])
        chord = [root + scale[(degree + step) % 7] + 12 * ((degree + step) // 7)
                 for step in (0, 2, 4)]
        if arpeggio:
            step_samples = beat // 2
            for i in range(8):
                note = chord[i % 3] + 12 * (i // 3 % 2)
                _add(out, start + i * step_samples,
                     _note(_midi_hz(note), step_samples * 2, rng, n_harmonics=n_harmonics,
                           rolloff=rolloff, decay_s=decay_s), 0.5)
        else:
            for note in chord:
                _add(out, start, _note(_midi_hz(note), bar, rng, n_harmonics=n_harmonics,
                                       rolloff=rolloff, decay_s=decay_s), 0.4)
        for b in range(4):
            _add(out, start + b * beat, _note(_midi_hz(chord[0] - 12), beat, rng,
                                              n_harmonics=3, rolloff=1.5, decay_s=0.3), 0.6)
            if drums:
                _add(out, start + b * beat, _drum("kick" if b % 2 == 0 else "snare", rng), 0.8)
                for half in (0, beat // 2):
                    _add(out, start + b * beat + half, _drum("hat", rng), 0.4)
    return scale_to_rms_db(out, MUSIC_RMS_DB)
