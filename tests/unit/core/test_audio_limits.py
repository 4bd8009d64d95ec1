"""Bounded decoding: header refusals, the decoded cap, blocks, non-finite samples, plain errors."""

from __future__ import annotations

import io
import logging
import tempfile

import numpy as np
import pytest
import soundfile as sf
import soxr

from tests.conftest import tone
from wakebuilder.audio.checks import RECORDING_LIMITS, check_recording
from wakebuilder.audio.format import to_int16
from wakebuilder.audio.io import UPLOAD_LIMITS, decode_audio, iter_audio
from wakebuilder.errors import InvalidAudioError


def _file(samples: np.ndarray, rate: int, fmt: str = "FLAC", subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def _reason(data: bytes, limits=UPLOAD_LIMITS) -> InvalidAudioError:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidAudioError) as info:
        decode_audio(data, "f.flac", limits)
    return info.value


def test_header_refusals() -> None:
    wav9 = _file(np.zeros((1600, 9), np.float32), 16_000, "WAV")
    assert _reason(wav9).details["reason"] == "too_many_channels"
    assert _reason(_file(np.zeros(400, np.float32), 2_000)).details["reason"] == "bad_sample_rate"
    long = _file(np.zeros(16_000 * 17, np.float32), 16_000)
    err = _reason(long, RECORDING_LIMITS)
    assert err.details == {"file": "f.flac", "reason": "too_long", "limit_s": 15.0,
                           "duration_s": 17.0}
    assert "keep recordings under 15 s" in err.message
    assert decode_audio(long, "f.flac", UPLOAD_LIMITS).size == 16_000 * 17


def test_a_header_without_length_is_stopped_by_the_decoded_cap() -> None:
    data = bytearray(_file(np.zeros((48_000 * 30, 2), np.float32), 48_000))
    data[8 + 13] &= 0xF0  # STREAMINFO total samples = 0: "unknown"
    data[8 + 14:8 + 18] = b"\0\0\0\0"
    err = _reason(bytes(data), RECORDING_LIMITS)
    assert err.details["reason"] == "too_long" and "more than 15 s" in err.message
    assert len(decode_audio(bytes(data), "f.flac", UPLOAD_LIMITS)) == 16_000 * 30


def test_blocks_equal_the_whole_file_resampled() -> None:
    rng = np.random.default_rng(0)
    stereo = (0.1 * rng.standard_normal((44_100 * 3, 2))).astype(np.float32)
    data = _file(stereo, 44_100, "WAV", "FLOAT")
    blocks = list(iter_audio(data, "s.wav", UPLOAD_LIMITS, block_s=0.25))
    assert len(blocks) > 10 and max(len(b) for b in blocks) <= 16_000 // 4 + 512
    whole = soxr.resample(stereo.mean(axis=1), 44_100, 16_000, quality="HQ")
    assert np.allclose(np.concatenate(blocks), whole, atol=1e-6)


def _webm(samples: np.ndarray) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(to_int16(samples)[None, :], format="s16",
                                           layout="mono")
        frame.sample_rate = 16_000
        for f in av.AudioResampler(format="s16", layout="mono", rate=48000).resample(frame):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["flac", "webm"])
def test_spooled_uploads_are_read_in_place(fmt: str) -> None:
    data = _file(tone(1.0), 16_000) if fmt == "flac" else _webm(tone(1.0))
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as fh:  # what an upload holds
        fh.write(data)
        assert abs(len(decode_audio(fh, f"t.{fmt}", UPLOAD_LIMITS)) - 16_000) < 1600


@pytest.mark.parametrize("poison", ["one_inf", "half_nan"])
def test_non_finite_samples_are_refused(poison: str) -> None:
    x = tone(1.0)
    if poison == "one_inf":
        x[8000] = np.inf
    else:
        x[::2] = np.nan
    err = _reason(_file(x, 16_000, "WAV", "FLOAT"))
    assert err.details["reason"] == "non_finite" and "non-finite" in err.message
    with pytest.raises(InvalidAudioError) as info:
        check_recording(x, "rec.wav")
    assert info.value.details["reason"] == "non_finite"


def test_decoder_text_stays_out_of_messages(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wakebuilder.audio.io")
    for payload in (b"OggS" + bytes(range(256)) * 4, b"\x1aE\xdf\xa3" + b"\0" * 300):
        err = _reason(payload)
        assert err.details["reason"] == "undecodable"
        assert err.message.startswith("Could not decode 'f.flac': not a supported audio file")
        assert "Errno" not in err.message and "Invalid data" not in err.message
    assert any("could not decode" in r.getMessage() for r in caplog.records)
