import io

import av
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import tone
from wakebuilder.audio.checks import check_recording
from wakebuilder.audio.format import to_int16
from wakebuilder.audio.io import decode_audio, wav_bytes
from wakebuilder.errors import InvalidAudioError


def speechlike(seconds: float = 0.8, rng: np.random.Generator | None = None) -> np.ndarray:
    """A voiced, syllable-modulated signal the VAD accepts as speech, with silence around."""
    rng = rng or np.random.default_rng(0)
    sr = 16000
    t = np.arange(int(seconds * sr)) / sr
    f0 = 140 + 30 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = 0.5 * (1 - np.cos(2 * np.pi * 4 * t)) * 0.25
    word = (voiced * env + rng.normal(0, 0.002, len(t))).astype(np.float32)
    pad = rng.normal(0, 0.0005, sr // 2).astype(np.float32)
    return np.concatenate([pad, word, pad])


def encode(samples: np.ndarray, fmt: str, sr: int = 16000) -> bytes:
    buf = io.BytesIO()
    if fmt == "webm":
        with av.open(buf, "w", format="webm") as out:
            stream = out.add_stream("libopus", rate=48000)
            stream.layout = "mono"
            frame = av.AudioFrame.from_ndarray(to_int16(samples)[None, :], format="s16",
                                               layout="mono")
            frame.sample_rate = sr
            resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        return buf.getvalue()
    sf.write(buf, samples, sr, format=fmt.upper())
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "webm"])
def test_decodes_formats_to_16k_mono(fmt: str) -> None:
    x = tone(1.0, 440.0)
    y = decode_audio(encode(x, fmt), f"clip.{fmt}")
    assert y.dtype == np.float32
    assert abs(len(y) - 16000) < 1600  # codecs add a little padding
    spectrum = np.abs(np.fft.rfft(y[:16000] if len(y) >= 16000 else y))
    peak_hz = np.argmax(spectrum) * 16000 / (2 * (len(spectrum) - 1))
    assert abs(peak_hz - 440) < 10


def test_resamples_stereo_44k() -> None:
    sr = 44100
    t = np.arange(sr) / sr
    stereo = np.stack([np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 1000 * t)], 1) * 0.3
    buf = io.BytesIO()
    sf.write(buf, stereo.astype(np.float32), sr, format="WAV")
    y = decode_audio(buf.getvalue(), "s.wav")
    assert len(y) == 16000


@pytest.mark.parametrize("payload", [b"", b"not audio at all" * 100, b"RIFF\x00\x00garbage"])
def test_corrupt_input_names_the_file(payload: bytes) -> None:
    with pytest.raises(InvalidAudioError) as info:
        decode_audio(payload, "broken.wav")
    assert info.value.details["file"] == "broken.wav"
    assert info.value.code == "validation_error"


def test_check_accepts_and_trims_speech() -> None:
    x = speechlike()
    trimmed, report = check_recording(x, "ok.wav")
    assert 0.6 < report.speech_s < 1.1
    assert len(trimmed) < len(x)


@pytest.mark.parametrize("make,reason", [
    (lambda: np.zeros(16000, np.float32), "silent"),
    (lambda: np.clip(speechlike() * 20, -1, 1), "clipped"),
    (lambda: np.tile(speechlike(), 9), "too_long"),  # 16.2 s: over the 15 s cap
    (lambda: np.tile(speechlike(), 5), "speech_too_long"),  # 9 s, words over 8 s of it
    (lambda: speechlike(0.12), "too_short"),
])
def test_check_rejections(make, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidAudioError) as info:
        check_recording(make(), "rec.wav")
    assert info.value.details == {**info.value.details, "file": "rec.wav", "reason": reason}


def test_real_recording_passes(computer_clips) -> None:  # type: ignore[no-untyped-def]
    samples = decode_audio(computer_clips[0])
    _, report = check_recording(samples, computer_clips[0].name)
    assert report.speech_s >= 0.2


def test_wav_bytes_round_trip() -> None:
    x = tone(0.5)
    assert np.max(np.abs(decode_audio(wav_bytes(x)) - x)) < 1e-3
