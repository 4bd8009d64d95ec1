"""Decode any supported audio (WAV, FLAC, OGG, WebM/Opus, MP3) to 16 kHz mono float32.

Decoding is bounded: what the container header says (channels, sample rate, duration) is
checked against :class:`AudioLimits` before any sample is decoded, then the file is decoded
block by block, mixed to mono and resampled per block, and a hard cap on decoded samples
stops a file whose header lies. Memory per decode is a few blocks, whatever the file holds.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from wakebuilder.audio.convert import MAX_CHANNELS, MAX_RATE, MIN_RATE, Resampler
from wakebuilder.audio.format import SAMPLE_RATE, Samples, to_int16
from wakebuilder.errors import InvalidAudioError

log = logging.getLogger(__name__)

MAX_DECODED_SECONDS = 600.0
"""Default cap on the audio decoded from one file (guards memory)."""
BLOCK_SECONDS = 1.0
"""Audio decoded per block (source time)."""
HEADER_SLACK_S = 1.0
"""Tolerance on durations FFmpeg estimates from a container (the decoded cap is exact)."""
UNKNOWN_FRAMES = 1 << 62
"""libsndfile's frame count when a header leaves the length out (SF_COUNT_MAX)."""
SUPPORTED = "WAV, FLAC, OGG, MP3 or WebM/Opus"

Source = bytes | bytearray | str | Path | BinaryIO


@dataclass(frozen=True)
class AudioLimits:
    """What one decode may hold. ``max_seconds`` counts decoded audio (None: no cap)."""

    max_seconds: float | None = MAX_DECODED_SECONDS
    max_channels: int = MAX_CHANNELS
    """Uploads: 8 (7.1 surround), as for raw PCM streams (:mod:`wakebuilder.audio.convert`)."""
    min_rate: int = MIN_RATE
    max_rate: int = MAX_RATE
    too_long_reason: str = "too_long_file"
    """``details.reason`` of a file over ``max_seconds``."""
    too_long_advice: str = ""
    """What to do about it, appended to the message."""

    def with_max_seconds(self, seconds: float | None) -> AudioLimits:
        return replace(self, max_seconds=seconds)


UPLOAD_LIMITS = AudioLimits()
"""Limits for files sent to the server (8 channels, 4-192 kHz, 600 s)."""
LOCAL_LIMITS = AudioLimits(max_channels=64, min_rate=1_000, max_rate=768_000)
"""Limits for local files (corpus extraction, negatives): any sane format, 600 s."""


def resample(samples: np.ndarray, sample_rate: int, target_rate: int = SAMPLE_RATE) -> Samples:
    """Resample a mono signal with soxr (high quality)."""
    data = np.asarray(samples, dtype=np.float32)
    if sample_rate == target_rate or data.size == 0:
        return data
    return np.asarray(soxr.resample(data, sample_rate, target_rate, quality="HQ"),
                      dtype=np.float32)


def _undecodable(name: str, exc: BaseException | None = None) -> InvalidAudioError:
    """The plain reason for a file neither decoder reads; the decoder's own text is logged."""
    if exc is not None:
        log.info("could not decode %r: %s: %s", name, type(exc).__name__, exc)
    return InvalidAudioError(name, "undecodable", f"Could not decode {name!r}: not a supported "
                             f"audio file (use {SUPPORTED})")


def _non_finite(name: str) -> InvalidAudioError:
    return InvalidAudioError(name, "non_finite", f"{name}: contains non-finite samples (NaN or "
                             "infinity); export the recording again as 16-bit PCM")


class _Budget:
    """Counts decoded 16 kHz samples and refuses past the limit."""

    def __init__(self, name: str, limits: AudioLimits) -> None:
        self.name = name
        self.limits = limits
        self.cap = (None if limits.max_seconds is None
                    else int(round(limits.max_seconds * SAMPLE_RATE)))
        self.total = 0

    def too_long(self, duration_s: float | None) -> InvalidAudioError:
        limit = self.limits.max_seconds or 0.0
        what = (f"{duration_s:.1f} s of audio" if duration_s is not None
                else f"more than {limit:g} s of audio")
        advice = self.limits.too_long_advice or f"the limit is {limit:g} s"
        extra = {"limit_s": limit} | ({} if duration_s is None
                                      else {"duration_s": round(duration_s, 2)})
        return InvalidAudioError(self.name, self.limits.too_long_reason,
                                 f"{self.name}: {what}; {advice}", **extra)

    def header(self, channels: int, rate: int, duration_s: float | None, slack_s: float) -> None:
        """Refuse from what the header says, before decoding."""
        lim, name = self.limits, self.name
        if not 1 <= channels <= lim.max_channels:
            raise InvalidAudioError(name, "too_many_channels",
                                    f"{name}: {channels} audio channels; at most "
                                    f"{lim.max_channels} are accepted (mono is best)",
                                    channels=channels, max_channels=lim.max_channels)
        if not lim.min_rate <= rate <= lim.max_rate:
            raise InvalidAudioError(name, "bad_sample_rate",
                                    f"{name}: sample rate {rate} Hz; use {lim.min_rate} to "
                                    f"{lim.max_rate} Hz (16 kHz or more is best)",
                                    sample_rate=rate, min_rate=lim.min_rate,
                                    max_rate=lim.max_rate)
        if (duration_s is not None and lim.max_seconds is not None
                and duration_s > lim.max_seconds + slack_s):
            raise self.too_long(duration_s)

    def add(self, block: np.ndarray) -> np.ndarray:
        self.total += len(block)
        if self.cap is not None and self.total > self.cap:
            raise self.too_long(None)  # the header said less (or nothing): it lied
        return block


class _Fallback(Exception):
    """libsndfile cannot read this file; try FFmpeg."""


def _sf_blocks(fh: BinaryIO, name: str, limits: AudioLimits, block_s: float
               ) -> Iterator[Samples]:
    try:
        snd = sf.SoundFile(fh)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        raise _Fallback from exc
    budget = _Budget(name, limits)
    with snd:
        rate, channels = int(snd.samplerate), int(snd.channels)
        if not 0 < snd.frames < UNKNOWN_FRAMES:
            # No length in the header (FLAC may say "unknown"): libsndfile then fails at the
            # end of the stream and loses the last block, FFmpeg reads it to the end.
            raise _Fallback
        budget.header(channels, rate, snd.frames / max(rate, 1), 0.0)
        resampler = Resampler(rate)
        block = max(1, int(rate * block_s))
        started = False
        while True:
            try:
                data = snd.read(block, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
                if not started:
                    raise _Fallback from exc
                raise _undecodable(name, exc) from exc
            started = True
            if len(data) == 0:
                break
            if not np.isfinite(data).all():
                raise _non_finite(name)
            mono = data.mean(axis=1, dtype=np.float32) if channels > 1 else data[:, 0].copy()
            out = resampler.push(mono)
            if len(out):
                yield budget.add(out)
        tail = resampler.flush()
        if len(tail):
            yield budget.add(tail)


def _av_blocks(fh: BinaryIO, name: str, limits: AudioLimits, block_s: float
               ) -> Iterator[Samples]:
    import av  # bundles FFmpeg; imported lazily as it is large

    budget = _Budget(name, limits)
    target = max(1, int(block_s * SAMPLE_RATE))
    pending: list[np.ndarray] = []
    size = 0
    try:
        with av.open(fh, mode="r") as container:
            if not container.streams.audio:
                raise InvalidAudioError(name, "no_audio_stream", f"{name}: no audio stream")
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            duration = None
            if stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            elif container.duration:
                duration = container.duration / 1_000_000
            budget.header(int(ctx.channels or 1), int(ctx.sample_rate or SAMPLE_RATE),
                          duration, HEADER_SLACK_S)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                # A stream may change format midway: check every frame, not just the header.
                budget.header(len(frame.layout.channels), int(frame.sample_rate), None, 0.0)
                for out in resampler.resample(frame):
                    arr = budget.add(out.to_ndarray().reshape(-1).astype(np.float32))
                    pending.append(arr)
                    size += len(arr)
                if size >= target:
                    block = np.concatenate(pending)
                    pending, size = [], 0
                    if not np.isfinite(block).all():
                        raise _non_finite(name)
                    yield block
            for out in resampler.resample(None):
                pending.append(budget.add(out.to_ndarray().reshape(-1).astype(np.float32)))
    except InvalidAudioError:
        raise
    except (av.FFmpegError, ValueError, IndexError, TypeError, OSError) as exc:
        raise _undecodable(name, exc) from exc
    if pending:
        block = np.concatenate(pending)
        if not np.isfinite(block).all():
            raise _non_finite(name)
        if len(block):
            yield block


@contextmanager
def _opened(source: Source, name: str | None) -> Iterator[tuple[BinaryIO, str]]:
    if isinstance(source, str | Path):
        path = Path(source)
        label = name or path.name
        try:
            fh: BinaryIO = path.open("rb")
        except OSError as exc:
            log.info("cannot read %s: %s", path, exc)
            raise InvalidAudioError(label, "unreadable", f"{label}: cannot read the file"
                                    ) from exc
        with fh:
            yield fh, label
        return
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source)), name or "audio"
        return
    yield source, name or "audio"


def iter_audio(source: Source, name: str | None = None, limits: AudioLimits = LOCAL_LIMITS, *,
               block_s: float = BLOCK_SECONDS) -> Iterator[Samples]:
    """Decode to mono float32 at 16 kHz in blocks of about ``block_s`` seconds.

    ``source`` is bytes, a path or a seekable binary file. Tries libsndfile first (WAV, FLAC,
    OGG, MP3), then FFmpeg through PyAV (WebM/Opus and anything else). Raises
    :class:`InvalidAudioError` naming the file (``details.reason``: ``empty``,
    ``undecodable``, ``no_audio_stream``, ``too_many_channels``, ``bad_sample_rate``,
    ``non_finite``, ``unreadable`` or ``limits.too_long_reason``), possibly after some
    blocks were yielded.
    """
    with _opened(source, name) as (fh, label):
        fh.seek(0, io.SEEK_END)
        if fh.tell() == 0:
            raise InvalidAudioError(label, "empty", f"{label}: the file is empty")
        fh.seek(0)
        produced = False
        try:
            for block in _sf_blocks(fh, label, limits, block_s):
                produced = True
                yield block
        except _Fallback:
            fh.seek(0)
            for block in _av_blocks(fh, label, limits, block_s):
                produced = True
                yield block
        if not produced:
            raise InvalidAudioError(label, "empty", f"{label}: contains no audio samples")


def decode_audio(source: Source, name: str | None = None,
                 limits: AudioLimits = LOCAL_LIMITS) -> Samples:
    """Decode bytes, a path or a binary file to one mono float32 array at 16 kHz.

    Bounded by ``limits`` (see :func:`iter_audio`); raises :class:`InvalidAudioError`
    naming the file when it cannot be decoded or breaks a limit.
    """
    return np.concatenate(list(iter_audio(source, name, limits))).astype(np.float32, copy=False)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write a 16-bit PCM WAV file and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(target), to_int16(samples), sample_rate, subtype="PCM_16")
    return target


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Encode samples as an in-memory 16-bit PCM WAV."""
    buf = io.BytesIO()
    sf.write(buf, to_int16(samples), sample_rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()
