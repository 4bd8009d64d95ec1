"""Seeded synthetic signals shared by the augmentation tests."""

from __future__ import annotations

import numpy as np
import pytest

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.augment import BackgroundBank


def tone(freq_hz: float, seconds: float = 1.5, amplitude: float = 0.3) -> Samples:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def chirp(seconds: float = 1.5, low_hz: float = 200.0, high_hz: float = 3000.0) -> Samples:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * (low_hz * t + (high_hz - low_hz) * t**2 / (2 * seconds))
    return (0.3 * np.sin(phase) * np.hanning(t.size)).astype(np.float32)


def peak_frequency(samples: Samples) -> float:
    """Frequency of the strongest spectral peak (zero-padded FFT, parabolic interpolation)."""
    n_fft = 1 << 18
    spec = np.abs(np.fft.rfft(samples * np.hanning(samples.size), n_fft))
    i = int(np.argmax(spec))
    a, b, c = np.log(spec[i - 1:i + 2])
    return float((i + 0.5 * (a - c) / (a - 2 * b + c)) * SAMPLE_RATE / n_fft)


@pytest.fixture(scope="session")
def bank() -> BackgroundBank:
    return BackgroundBank.generated(np.random.default_rng(123), seconds=3.0, n_music=2)


@pytest.fixture()
def speech_like() -> Samples:
    """A 1.5 s harmonic 'vowel' (F0 120 Hz, formant-like peak at 1 kHz) in a Hann envelope."""
    t = np.arange(int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
    x = sum(np.exp(-0.5 * ((k * 120 - 1000) / 150) ** 2) * np.sin(2 * np.pi * k * 120 * t)
            for k in range(1, 58))
    return np.asarray(0.3 * x / np.max(np.abs(x)) * np.hanning(t.size), dtype=np.float32)
