"""Quality checks for user recordings: speech trimming (WebRTC VAD) and rejections.

A recording may be a generous :data:`MAX_RECORDING_SECONDS` long (silence before and after
the wake word is normal when people record by hand); it is trimmed to its speech with
:data:`PAD_SECONDS` either side, and refused only when the speech itself lasts more than
:data:`MAX_SPEECH_SECONDS`. :func:`load_recording` is the one entry point the API (check,
start) and the training pipeline (CLI, jobs) use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import webrtcvad

from wakebuilder.audio.format import SAMPLE_RATE, Samples, rms_db, seconds, to_int16
from wakebuilder.audio.io import UPLOAD_LIMITS, Source, decode_audio
from wakebuilder.errors import InvalidAudioError

MAX_RECORDING_SECONDS = 15.0
"""Longest recording file accepted (its audio, silence included); longer is ``too_long``."""
MAX_SPEECH_SECONDS = 5.0
"""Longest speech in a recording (first to last speech frame); longer is ``speech_too_long``."""
MIN_SPEECH_SECONDS = 0.2
SILENCE_DBFS = -75.0
MIN_PEAK = 0.001
QUIET_DBFS = -45.0
CLIP_LEVEL = 0.999
MAX_CLIPPED_FRACTION = 0.01
VAD_FRAME_MS = 30
PAD_SECONDS = 0.15
"""Audio kept either side of the speech when trimming."""
SEGMENT_GAP_S = 0.5
"""A pause at least this long separates two bursts of speech frames."""
MIN_BURST_S = 0.1
"""A burst with less speech than this (a click, a breath) is not speech when a longer burst
exists: it neither extends the speech region nor counts towards ``speech_too_long``."""
LEVEL_WINDOW_S = 5.0
"""Level, silence and clipping are measured on the loudest stretch of this length (the whole
file when shorter), so long silence around the word neither makes a recording "quiet" nor
dilutes its clipping."""

RECORDING_LIMITS = replace(UPLOAD_LIMITS, max_seconds=MAX_RECORDING_SECONDS,
                           too_long_reason="too_long",
                           too_long_advice=f"keep recordings under {MAX_RECORDING_SECONDS:g} s")
"""Decode limits of a training recording: refused as ``too_long`` from the header when it
can be, and never more than :data:`MAX_RECORDING_SECONDS` decoded."""


@dataclass(frozen=True)
class RecordingReport:
    """What the checks measured on one recording, and what trimming kept of it."""

    file: str
    duration_s: float
    """The whole file, before trimming."""
    speech_s: float
    level_dbfs: float
    peak: float
    clipped_fraction: float
    quiet: bool = False
    """Accepted but quiet: it is level-normalised for training; a closer mic is better."""
    trimmed_s: float = 0.0
    """What is kept after trimming: the speech and up to :data:`PAD_SECONDS` either side."""
    trim_start_s: float = 0.0
    """Where in the file the kept audio starts."""

    @property
    def trimmed_away_s(self) -> float:
        """Seconds of the file that trimming dropped."""
        return max(0.0, self.duration_s - self.trimmed_s)

    def to_dict(self) -> dict[str, float | str | bool]:
        return {"file": self.file, "quiet": self.quiet, "duration_s": round(self.duration_s, 3),
                "speech_s": round(self.speech_s, 3), "level_dbfs": round(float(self.level_dbfs), 1),
                "peak": round(self.peak, 4), "clipped_fraction": round(self.clipped_fraction, 5),
                "trimmed_s": round(self.trimmed_s, 3), "trim_start_s": round(self.trim_start_s, 3)}

    def summary(self) -> str:
        """One line for people: what was kept, e.g. ``trimmed from 12.0 s to 1.3 s``."""
        if self.trimmed_away_s < 0.05:
            return f"{self.duration_s:.1f} s, {self.speech_s:.1f} s of speech"
        return (f"trimmed from {self.duration_s:.1f} s to {self.trimmed_s:.1f} s around its "
                f"{self.speech_s:.1f} s of speech")


def _loudest(values: np.ndarray, window: int) -> tuple[int, int]:
    """(start, end) of the ``window``-long stretch with the largest sum of ``values``."""
    if window >= len(values):
        return 0, len(values)
    total = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    start = int(np.argmax(total[window:] - total[:-window]))
    return start, start + window


def _bursts(voiced: np.ndarray, frame_s: float) -> list[tuple[int, int]]:
    """Runs of speech frames, as (first, last + 1) frame indices, split at pauses of at least
    :data:`SEGMENT_GAP_S`."""
    idx = np.flatnonzero(voiced)
    gap = max(1, int(round(SEGMENT_GAP_S / frame_s)))
    splits = np.flatnonzero(np.diff(idx) > gap)
    starts = np.concatenate([[0], splits + 1])
    ends = np.concatenate([splits, [len(idx) - 1]])
    return [(int(idx[a]), int(idx[b]) + 1) for a, b in zip(starts, ends, strict=True)]


def speech_bounds(samples: Samples, aggressiveness: int = 2) -> tuple[int, int] | None:
    """Return (start, end) sample indices of the speech region, or None if no speech.

    The region runs from the first to the last burst of speech frames; bursts with less
    than :data:`MIN_BURST_S` of speech (clicks, breaths) are left out when a longer one
    exists, so a click seconds after the word does not stretch the region; with only such
    bursts, the region is the biggest of them."""
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
    if not voiced.any():
        return None
    frame_s = frame / SAMPLE_RATE
    bursts = _bursts(voiced, frame_s)
    min_frames = MIN_BURST_S / frame_s
    counts = [int(np.count_nonzero(voiced[a:b])) for a, b in bursts]
    kept = [burst for burst, n in zip(bursts, counts, strict=True) if n >= min_frames]
    if not kept:  # only clicks: the biggest one (too short to pass as a word)
        kept = [bursts[int(np.argmax(counts))]]
    return int(kept[0][0] * frame), int(min(kept[-1][1] * frame, len(samples)))


def check_recording(samples: Samples, file: str) -> tuple[Samples, RecordingReport]:
    """Validate one decoded recording and trim it to speech (with a little padding).

    Raises :class:`InvalidAudioError` with ``details.reason`` one of ``non_finite``,
    ``too_long`` (the file), ``silent``, ``clipped``, ``no_speech``, ``too_short`` or
    ``speech_too_long`` (the speech in it).
    """
    if samples.size and not np.isfinite(samples).all():
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise InvalidAudioError(file, "non_finite", f"{file}: contains non-finite samples (NaN "
                                "or infinity); export the recording again as 16-bit PCM",
                                non_finite_samples=bad)
    duration = seconds(samples)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    window = int(LEVEL_WINDOW_S * SAMPLE_RATE)
    lo, hi = _loudest(np.square(samples, dtype=np.float64), window)
    level = rms_db(samples[lo:hi])
    lo, hi = _loudest((np.abs(samples) >= CLIP_LEVEL).astype(np.float64), window)
    clipped = float(np.mean(np.abs(samples[lo:hi]) >= CLIP_LEVEL)) if samples.size else 0.0
    if duration > MAX_RECORDING_SECONDS:
        raise InvalidAudioError(file, "too_long",
                                f"{file}: {duration:.1f} s of audio; keep recordings under "
                                f"{MAX_RECORDING_SECONDS:g} s", duration_s=round(duration, 2),
                                limit_s=MAX_RECORDING_SECONDS)
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
    if speech > MAX_SPEECH_SECONDS:
        raise InvalidAudioError(file, "speech_too_long",
                                f"{file}: the speech in this recording lasts {speech:.1f} s; "
                                f"record only the wake word, under {MAX_SPEECH_SECONDS:g} s",
                                speech_s=round(speech, 2), limit_s=MAX_SPEECH_SECONDS,
                                duration_s=round(duration, 2),
                                speech_start_s=round(start / SAMPLE_RATE, 2))
    pad = int(PAD_SECONDS * SAMPLE_RATE)
    lo, hi = max(0, start - pad), min(len(samples), end + pad)
    trimmed = samples[lo:hi].astype(np.float32)
    report = RecordingReport(file, duration, speech, level, peak, clipped,
                             quiet=bool(level < QUIET_DBFS), trimmed_s=(hi - lo) / SAMPLE_RATE,
                             trim_start_s=lo / SAMPLE_RATE)
    return trimmed, report


def load_recording(source: Source, name: str) -> tuple[Samples, RecordingReport]:
    """Decode one recording within :data:`RECORDING_LIMITS`, check it and trim it to its
    speech: the one place the API and the training pipeline read a user's recording.

    ``source`` is a path, bytes or a seekable binary file; ``name`` names it in messages.
    A file over :data:`MAX_RECORDING_SECONDS` is refused (``too_long``) from its header, or
    once that much audio is decoded when the header says nothing or lies. Raises
    :class:`InvalidAudioError` (see :func:`check_recording` and
    :func:`wakebuilder.audio.io.iter_audio` for the reasons).
    """
    return check_recording(decode_audio(source, name, RECORDING_LIMITS), name)
