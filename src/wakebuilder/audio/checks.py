"""Quality checks for user recordings: speech trimming (WebRTC VAD) and rejections."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import webrtcvad

from wakebuilder.audio.format import SAMPLE_RATE, Samples, rms_db, seconds, to_int16
from wakebuilder.audio.io import UPLOAD_LIMITS
from wakebuilder.errors import InvalidAudioError

MAX_RECORDING_SECONDS = 5.0
MIN_SPEECH_SECONDS = 0.2
SILENCE_DBFS = -75.0
MIN_PEAK = 0.001
QUIET_DBFS = -45.0
CLIP_LEVEL = 0.999
MAX_CLIPPED_FRACTION = 0.01
VAD_FRAME_MS = 30
PAD_SECONDS = 0.15

RECORDING_LIMITS = replace(UPLOAD_LIMITS, max_seconds=MAX_RECORDING_SECONDS,
                           too_long_reason="too_long",
                           too_long_advice=f"keep recordings under {MAX_RECORDING_SECONDS:.0f} s")
"""Decode limits of a training recording: refused as ``too_long`` from the header when it
can be, and never more than 5 s decoded."""


@dataclass(frozen=True)
class RecordingReport:
    """What the checks measured on one recording."""

    file: str
    duration_s: float
    speech_s: float
    level_dbfs: float
    peak: float
    clipped_fraction: float
    quiet: bool = False
    """Accepted but quiet: it is level-normalised for training; a closer mic is better."""

    def to_dict(self) -> dict[str, float | str | bool]:
        return {"file": self.file, "quiet": self.quiet, "duration_s": round(self.duration_s, 3),
                "speech_s": round(self.speech_s, 3), "level_dbfs": round(float(self.level_dbfs), 1),
                "peak": round(self.peak, 4), "clipped_fraction": round(self.clipped_fraction, 5)}


def speech_bounds(samples: Samples, aggressiveness: int = 2) -> tuple[int, int] | None:
    """Return (start, end) sample indices of the speech region, or None if no speech."""
    frame = SAMPLE_RATE * VAD_FRAME_MS // 1000
    n_frames = len(samples) // frame
    if n_frames == 0:
        return None
    peak = float(np.max(np.abs(samples))) or 1.0
    # Normalise the level for the VAD only, so quiet but clean speech is still found.
    pcm = to_int16(samples[: n_frames * frame] * min(0.5 / peak, 100.0)).tobytes()
    vad = webrtcvad.Vad(aggressiveness)
    voiced = np.array([vad.is_speech(pcm[i * frame * 2:(i + 1) * frame * 2], SAMPLE_RATE)
                       for i in range(n_frames)])
    # Energy gate: frames far below the loudest frame are not speech even if the VAD says so.
    energy = np.array([rms_db(samples[i * frame:(i + 1) * frame]) for i in range(n_frames)])
    voiced &= energy > max(energy.max() - 35.0, -90.0)
    idx = np.flatnonzero(voiced)
    if idx.size == 0:
        return None
    return int(idx[0] * frame), int(min((idx[-1] + 1) * frame, len(samples)))


def check_recording(samples: Samples, file: str) -> tuple[Samples, RecordingReport]:
    """Validate one decoded recording and trim it to speech (with a little padding).

    Raises :class:`InvalidAudioError` with ``details.reason`` one of ``non_finite``,
    ``too_long``, ``silent``, ``clipped``, ``no_speech`` or ``too_short``.
    """
    if samples.size and not np.isfinite(samples).all():
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise InvalidAudioError(file, "non_finite", f"{file}: contains non-finite samples (NaN "
                                "or infinity); export the recording again as 16-bit PCM",
                                non_finite_samples=bad)
    duration = seconds(samples)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    level = rms_db(samples)
    clipped = float(np.mean(np.abs(samples) >= CLIP_LEVEL)) if samples.size else 0.0
    if duration > MAX_RECORDING_SECONDS:
        raise InvalidAudioError(file, "too_long",
                                f"{file}: {duration:.1f} s of audio; keep recordings under "
                                f"{MAX_RECORDING_SECONDS:.0f} s", duration_s=round(duration, 2))
    if samples.size == 0 or level < SILENCE_DBFS or peak < MIN_PEAK:
        raise InvalidAudioError(file, "silent", f"{file}: the recording is silent or too quiet "
                                f"({level:.0f} dBFS); speak closer to the microphone",
                                level_dbfs=round(level, 1))
    if clipped > MAX_CLIPPED_FRACTION:
        raise InvalidAudioError(file, "clipped", f"{file}: {clipped:.1%} of samples are clipped; "
                                "lower the input volume", clipped_fraction=round(clipped, 4))
    bounds = speech_bounds(samples)
    if bounds is None:
        raise InvalidAudioError(file, "no_speech", f"{file}: no speech found")
    start, end = bounds
    speech = (end - start) / SAMPLE_RATE
    if speech < MIN_SPEECH_SECONDS:
        raise InvalidAudioError(file, "too_short", f"{file}: only {speech:.2f} s of speech; say "
                                "the whole wake word", speech_s=round(speech, 3))
    pad = int(PAD_SECONDS * SAMPLE_RATE)
    trimmed = samples[max(0, start - pad):min(len(samples), end + pad)].astype(np.float32)
    report = RecordingReport(file, duration, speech, level, peak, clipped,
                             quiet=bool(level < QUIET_DBFS))
    return trimmed, report
