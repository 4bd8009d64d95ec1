"""Generated noises: white, pink, brown, band-limited, mains hum and babble.

Every generator returns ``n_samples`` of mono float32 at ``NOISE_RMS_DB`` dBFS.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.augment.level import scale_to_rms_db

NOISE_RMS_DB = -20.0
NOISE_KINDS = ("white", "pink", "brown", "band", "hum", "babble")


def _coloured(n_samples: int, rng: np.random.Generator, exponent: float) -> Samples:
    """Noise with power spectrum ~ 1 / f**exponent (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n_samples))
    freqs = np.fft.rfftfreq(n_samples, 1 / SAMPLE_RATE)
    spec *= np.maximum(freqs, 20.0) ** (-exponent / 2)
    spec[0] = 0.0
    return scale_to_rms_db(np.fft.irfft(spec, n=n_samples), NOISE_RMS_DB)


def white_noise(n_samples: int, rng: np.random.Generator) -> Samples:
    return _coloured(n_samples, rng, 0.0)


def pink_noise(n_samples: int, rng: np.random.Generator) -> Samples:
    return _coloured(n_samples, rng, 1.0)


def brown_noise(n_samples: int, rng: np.random.Generator) -> Samples:
    return _coloured(n_samples, rng, 2.0)


def band_noise(n_samples: int, rng: np.random.Generator, *, low_hz: float | None = None,
               high_hz: float | None = None) -> Samples:
    """White noise kept between ``low_hz`` and ``high_hz`` (random band when omitted)."""
    low = low_hz if low_hz is not None else float(np.exp(rng.uniform(np.log(50), np.log(2000))))
    high = high_hz if high_hz is not None else min(low * rng.uniform(2, 16), SAMPLE_RATE / 2)
    spec = np.fft.rfft(rng.standard_normal(n_samples))
    freqs = np.fft.rfftfreq(n_samples, 1 / SAMPLE_RATE)
    spec[(freqs < low) | (freqs > high)] = 0.0
    return scale_to_rms_db(np.fft.irfft(spec, n=n_samples), NOISE_RMS_DB)


def hum(n_samples: int, rng: np.random.Generator, *, base_hz: float | None = None) -> Samples:
    """Mains hum (50 or 60 Hz) with decaying odd and even harmonics and a little noise."""
    base = base_hz if base_hz is not None else float(rng.choice([50.0, 60.0]))
    t = np.arange(n_samples) / SAMPLE_RATE
    out = 0.02 * rng.standard_normal(n_samples)
    for k in range(1, 1 + int(rng.integers(3, 12))):
        out += rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3))
    return scale_to_rms_db(out, NOISE_RMS_DB)


def _synthetic_talker(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """A speech-like stream: voiced syllables with random formants, fricatives and pauses."""
    f0 = rng.uniform(90, 250) * np.exp(0.1 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0)
                                                    * np.arange(n_samples) / SAMPLE_RATE))
    phase = np.cumsum(f0 / SAMPLE_RATE)
    voiced = 2.0 * (phase % 1.0) - 1.0
    out = np.zeros(n_samples)
    pos = int(rng.integers(0, SAMPLE_RATE // 4))
    while pos < n_samples:
        size = min(int(rng.uniform(0.08, 0.3) * SAMPLE_RATE), n_samples - pos)
        if rng.random() < 0.15:
            pos += size  # pause
            continue
        fricative = rng.random() < 0.2
        src = rng.standard_normal(size) if fricative else voiced[pos:pos + size]
        freqs = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
        formants = ([rng.uniform(2500, 6000)] if fricative else
                    [rng.uniform(300, 900), rng.uniform(900, 2500), rng.uniform(2400, 3400)])
        shape = sum(np.exp(-0.5 * ((freqs - f) / (0.1 * f + 60)) ** 2) / (i + 1)
                    for i, f in enumerate(formants))
        seg = np.fft.irfft(np.fft.rfft(src) * shape, n=size) * np.hanning(size)
        out[pos:pos + size] += seg / (np.sqrt(np.mean(seg**2)) + 1e-9)
        pos += int(size * rng.uniform(0.6, 1.0))
    return out


def babble(n_samples: int, rng: np.random.Generator, *, speech: Sequence[Samples] = (),
           n_talkers: int | None = None) -> Samples:
    """Several talkers at once: random slices of ``speech``, or synthetic talkers without it."""
    talkers = n_talkers if n_talkers is not None else int(rng.integers(3, 8))
    out = np.zeros(n_samples)
    usable = [s for s in speech if s.size > 0]
    for _ in range(talkers):
        if usable:
            clip = usable[int(rng.integers(len(usable)))].astype(np.float64)
            voice = clip[(int(rng.integers(clip.size)) + np.arange(n_samples)) % clip.size]
        else:
            voice = _synthetic_talker(n_samples, rng)
        out += voice / (np.sqrt(np.mean(voice**2)) + 1e-9)
    return scale_to_rms_db(out, NOISE_RMS_DB)


def generate_noise(kind: str, n_samples: int, rng: np.random.Generator, *,
                   speech: Sequence[Samples] = ()) -> Samples:
    """Generate one of ``NOISE_KINDS``."""
    if kind == "babble":
        return babble(n_samples, rng, speech=speech)
    makers = {"white": white_noise, "pink": pink_noise, "brown": brown_noise,
              "band": band_noise, "hum": hum}
    if kind not in makers:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of {NOISE_KINDS}")
    return makers[kind](n_samples, rng)
