"""PCM at any rate, width and channel count -> 16 kHz mono float32, streaming."""

from __future__ import annotations

import numpy as np
import pytest

from wakebuilder.audio.convert import PcmConverter, check_format, pcm_to_mono
from wakebuilder.errors import InvalidInputError


def test_widths_decode_to_the_same_signal() -> None:
    x = np.sin(np.linspace(0, 20, 800)).astype(np.float32) * 0.5
    u8 = (np.round(x * 127) + 128).astype(np.uint8).tobytes()
    i16 = np.round(x * 32767).astype("<i2").tobytes()
    i32 = np.round(x * 2**31 * 0.999).astype("<i4").tobytes()
    for data, width, tol in ((u8, 1, 1e-2), (i16, 2, 1e-4), (i32, 4, 1e-3)):
        np.testing.assert_allclose(pcm_to_mono(data, width, 1), x, atol=tol)


def test_channels_are_averaged() -> None:
    left = np.full(10, 1000, "<i2")
    right = np.full(10, -3000, "<i2")
    stereo = np.stack([left, right], axis=1).reshape(-1).tobytes()
    np.testing.assert_allclose(pcm_to_mono(stereo, 2, 2), np.full(10, -1000 / 32768), rtol=1e-6)


def test_chunking_does_not_change_the_result() -> None:
    rng = np.random.default_rng(0)
    audio = (rng.normal(0, 3000, 48000 * 2)).astype("<i2").tobytes()  # 1 s stereo 48 kHz
    whole = PcmConverter()
    ref = np.concatenate([whole.push(audio, 48000, 2, 2), whole.flush()])
    chunked = PcmConverter()
    parts, i = [], 0
    for size in rng.integers(1, 5000, 200):  # odd sizes split samples and frames
        parts.append(chunked.push(audio[i:i + size], 48000, 2, 2))
        i += int(size)
    parts.append(chunked.push(audio[i:], 48000, 2, 2))
    parts.append(chunked.flush())
    out = np.concatenate(parts)
    assert abs(len(ref) - 16000) <= 1
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_16k_mono_16bit_passes_straight_through() -> None:
    audio = np.arange(-500, 500, dtype="<i2")
    out = PcmConverter().push(audio.tobytes(), 16000, 2, 1)
    np.testing.assert_array_equal(out, audio / 32768)


@pytest.mark.parametrize(("rate", "width", "channels", "field"), [
    (16000, 3, 1, "width"), (16000, 2, 0, "channels"), (16000, 2, 9, "channels"),
    (100, 2, 1, "rate"), (10**6, 2, 1, "rate"), ("16000", 2, 1, "rate"),
    (16000, True, 1, "width"), (16000, 2, None, "channels")])
def test_bad_formats_are_refused(rate: object, width: object, channels: object,
                                 field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_format(rate, width, channels)
    assert info.value.details["field"] == field
