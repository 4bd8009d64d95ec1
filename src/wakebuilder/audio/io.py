"""Decode any supported audio (WAV, FLAC, OGG, WebM/Opus, MP3) to 16 kHz mono float32."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from wakebuilder.audio.format import SAMPLE_RATE, Samples, to_int16
from wakebuilder.errors import InvalidAudioError

MAX_DECODED_SECONDS = 600.0
"""Refuse to decode more than this much audio from one file (guards memory)."""


def resample(samples: np.ndarray, sample_rate: int, target_rate: int = SAMPLE_RATE) -> Samples:
    """Resample a mono signal with soxr (high quality)."""
    data = np.asarray(samples, dtype=np.float32)
    if sample_rate == target_rate or data.size == 0:
        return data
    return np.asarray(soxr.resample(data, sample_rate, target_rate, quality="HQ"),
                      dtype=np.float32)


def _to_mono(data: np.ndarray) -> np.ndarray:
    return data.mean(axis=1) if data.ndim == 2 else data


def _decode_soundfile(buf: io.BytesIO, name: str) -> tuple[np.ndarray, int]:
    info = sf.info(buf)
    if info.frames / max(info.samplerate, 1) > MAX_DECODED_SECONDS:
        raise InvalidAudioError(name, "too_long_file",
                                f"{name}: longer than {MAX_DECODED_SECONDS:.0f} s")
    buf.seek(0)
    data, rate = sf.read(buf, dtype="float32", always_2d=False)
    return _to_mono(data), int(rate)


def _decode_av(buf: io.BytesIO, name: str) -> tuple[np.ndarray, int]:
    import av  # bundles FFmpeg; imported lazily as it is large

    chunks: list[np.ndarray] = []
    total = 0
    limit = int(MAX_DECODED_SECONDS * SAMPLE_RATE)
    try:
        with av.open(buf) as container:
            if not container.streams.audio:
                raise InvalidAudioError(name, "no_audio_stream", f"{name}: no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += arr.size
                if total > limit:
                    raise InvalidAudioError(name, "too_long_file",
                                            f"{name}: longer than {MAX_DECODED_SECONDS:.0f} s")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except InvalidAudioError:
        raise
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise InvalidAudioError(name, "undecodable",
                                f"{name}: not a supported audio file ({exc})") from exc
    if not chunks:
        raise InvalidAudioError(name, "empty", f"{name}: contains no audio samples")
    return np.concatenate(chunks).astype(np.float32), SAMPLE_RATE


def decode_audio(source: bytes | str | Path, name: str | None = None) -> Samples:
    """Decode bytes or a file to mono float32 at 16 kHz.

    Tries libsndfile first (WAV, FLAC, OGG, MP3), then FFmpeg through PyAV (WebM/Opus and
    anything else). Raises :class:`InvalidAudioError` naming the file when neither can.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        name = name or path.name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InvalidAudioError(name, "unreadable", f"{name}: cannot read ({exc})") from exc
    else:
        raw = bytes(source)
        name = name or "audio"
    if not raw:
        raise InvalidAudioError(name, "empty", f"{name}: the file is empty")
    try:
        data, rate = _decode_soundfile(io.BytesIO(raw), name)
    except InvalidAudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
        data, rate = _decode_av(io.BytesIO(raw), name)
    data = np.nan_to_num(np.asarray(data, dtype=np.float32))
    if data.size == 0:
        raise InvalidAudioError(name, "empty", f"{name}: contains no audio samples")
    return resample(data, rate)


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
