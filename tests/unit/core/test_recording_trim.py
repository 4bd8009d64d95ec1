"""Recordings as users make them: long files trimmed to their speech, too much speech refused,
files over the cap refused without decoding them whole (generated audio)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.unit.core.test_audio import speechlike
from wakebuilder.audio.checks import (
    MAX_RECORDING_SECONDS,
    MAX_SPEECH_SECONDS,
    PAD_SECONDS,
    check_recording,
    load_recording,
)
from wakebuilder.audio.io import wav_bytes, write_wav
from wakebuilder.errors import InvalidAudioError
from wakebuilder.pipeline.recordings import load_recordings
from wakebuilder.pipeline.request import TrainRequest
from wakebuilder.pipeline.state import JobState

SR = 16_000


def floor(seconds: float, seed: int = 1) -> np.ndarray:
    """A quiet room: low noise, as between words in a hand-made recording."""
    return np.random.default_rng(seed).normal(0, 0.0005, int(seconds * SR)).astype(np.float32)


def with_word_at(total_s: float, at_s: float, word_s: float = 1.0) -> np.ndarray:
    """``total_s`` of quiet room with a ``word_s`` speech-like word starting at ``at_s``."""
    x = floor(total_s)
    word = speechlike(word_s)[SR // 2:-(SR // 2)]  # the word without its own padding
    start = int(at_s * SR)
    x[start:start + len(word)] += word
    return x


def test_5_1_s_file_with_silence_and_speech_is_accepted_and_trimmed() -> None:
    x = with_word_at(5.1, 3.0, 1.0)
    trimmed, report = check_recording(x, "rec.wav")
    assert report.duration_s == pytest.approx(5.1, abs=0.01)
    assert 0.8 < report.speech_s < 1.2
    assert report.trimmed_s == pytest.approx(len(trimmed) / SR)
    assert report.trimmed_s < report.speech_s + 2 * PAD_SECONDS + 0.1
    assert 2.6 < report.trim_start_s < 3.0  # the leading 3 s of silence are gone
    assert "trimmed from 5.1 s to" in report.summary()


def test_12_s_of_mostly_silence_is_trimmed_to_its_word() -> None:
    x = with_word_at(12.0, 6.0, 1.0)
    trimmed, report = load_recording(wav_bytes(x), "long.wav")
    assert report.duration_s == pytest.approx(12.0, abs=0.01)
    assert 1.0 < report.trimmed_s < 1.8 and len(trimmed) == round(report.trimmed_s * SR)
    assert 5.6 < report.trim_start_s < 6.0
    # The word is what was kept: nearly all the energy of the file is in the clip.
    assert np.sum(trimmed.astype(np.float64) ** 2) > 0.99 * np.sum(x.astype(np.float64) ** 2)
    # Long silence does not make it "quiet": the level is measured around the speech.
    assert not report.quiet and report.level_dbfs > -35
    d = report.to_dict()
    assert d["duration_s"] == 12.0 and d["trimmed_s"] == round(report.trimmed_s, 3)


def test_a_click_far_from_the_word_does_not_stretch_the_speech() -> None:
    x = with_word_at(12.0, 2.0, 1.0)
    x[int(11.0 * SR):int(11.0 * SR) + 400] += 0.4 * np.hanning(400).astype(np.float32)
    _, report = check_recording(x, "click.wav")
    assert report.speech_s < 1.3 and report.trim_start_s < 2.0


@pytest.mark.parametrize("layout", ["continuous", "words"])
def test_too_much_speech_is_refused_saying_so(layout: str) -> None:
    if layout == "continuous":
        x = np.concatenate([floor(1.0), speechlike(6.2)[SR // 2:-(SR // 2)], floor(1.0)])
    else:  # four words with pauses, spread over 6.5 s of a 9 s file
        x = floor(9.0)
        for at in (1.0, 3.0, 5.0, 6.6):
            word = speechlike(0.9)[SR // 2:-(SR // 2)]
            x[int(at * SR):int(at * SR) + len(word)] += word
    with pytest.raises(InvalidAudioError) as info:
        check_recording(x, "chatty.wav")
    err = info.value
    assert err.details["reason"] == "speech_too_long" and err.details["file"] == "chatty.wav"
    speech = err.details["speech_s"]
    assert MAX_SPEECH_SECONDS < speech < 7.0 and err.details["limit_s"] == MAX_SPEECH_SECONDS
    assert f"the speech in this recording lasts {speech:.1f} s" in err.message
    assert "record only the wake word, under 5 s" in err.message


def test_speech_just_under_the_limit_is_kept_whole() -> None:
    x = np.concatenate([floor(2.0), speechlike(4.6)[SR // 2:-(SR // 2)], floor(2.0)])
    trimmed, report = check_recording(x, "long-word.wav")
    assert 4.3 < report.speech_s <= MAX_SPEECH_SECONDS
    assert len(trimmed) / SR == pytest.approx(report.trimmed_s)


def test_a_file_with_no_speech_keeps_its_reason() -> None:
    x = floor(12.0)
    for at in (1.0, 6.0, 11.0):  # ticks seconds apart: not speech, and not 10 s of it
        x[int(at * SR):int(at * SR) + 160] += 0.3 * np.hanning(160).astype(np.float32)
    with pytest.raises(InvalidAudioError) as info:
        check_recording(x, "ticks.wav")
    assert info.value.details["reason"] in {"no_speech", "too_short"}, info.value.details
    with pytest.raises(InvalidAudioError) as info:
        check_recording(np.zeros(12 * SR, np.float32), "zeros.wav")
    assert info.value.details["reason"] == "silent"


class Counting(io.BytesIO):
    """A file that remembers how far into it the decoder read."""

    furthest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        n = super().readinto(buffer)
        self.furthest = max(self.furthest, self.tell())
        return n


def _flac(x: np.ndarray, hide_length: bool = False) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, SR, format="FLAC", subtype="PCM_16")
    data = bytearray(buf.getvalue())
    if hide_length:  # STREAMINFO total samples = 0: "unknown"
        data[8 + 13] &= 0xF0
        data[8 + 14:8 + 18] = b"\0\0\0\0"
    return bytes(data)


def test_over_the_cap_is_refused_from_the_header() -> None:
    x = np.random.default_rng(0).normal(0, 0.1, 120 * SR).astype(np.float32)
    fh = Counting(_flac(x))
    with pytest.raises(InvalidAudioError) as info:
        load_recording(fh, "two-minutes.flac")
    assert info.value.details == {"file": "two-minutes.flac", "reason": "too_long",
                                  "limit_s": MAX_RECORDING_SECONDS, "duration_s": 120.0}
    assert "keep recordings under 15 s" in info.value.message
    assert fh.furthest < len(fh.getvalue()) * 0.05  # the header was enough


def test_a_lying_header_is_stopped_after_the_cap() -> None:
    x = np.random.default_rng(0).normal(0, 0.1, 120 * SR).astype(np.float32)
    fh = Counting(_flac(x, hide_length=True))
    with pytest.raises(InvalidAudioError) as info:
        load_recording(fh, "lying.flac")
    assert info.value.details["reason"] == "too_long"
    assert info.value.details["limit_s"] == MAX_RECORDING_SECONDS
    assert fh.furthest < len(fh.getvalue()) * 0.25  # about 15 of 120 s decoded, not all


def test_just_under_the_cap_is_decoded_and_checked() -> None:
    x = with_word_at(MAX_RECORDING_SECONDS - 0.1, 10.0, 0.8)
    _, report = load_recording(_flac(x), "long.flac")
    assert report.duration_s == pytest.approx(MAX_RECORDING_SECONDS - 0.1, abs=0.01)
    assert report.trimmed_s < 1.5


def test_the_pipeline_trims_the_same_way(tmp_path: Path) -> None:
    """``wakebuilder train --recording`` and jobs read recordings with :func:`load_recording`:
    a long file is trimmed, its report in ``data_stats`` says so, and too much speech is
    refused with the same reason."""
    long = write_wav(tmp_path / "long.wav", with_word_at(12.0, 6.0, 1.0))
    short = write_wav(tmp_path / "short.wav", with_word_at(2.0, 0.5, 1.0))
    request = TrainRequest("computer", [long, short])
    state = JobState(request, progress=lambda _: None, should_cancel=lambda: False, threads=1)
    clips = load_recordings(state)
    reports = state.stats["recording_reports"]
    assert [r["file"] for r in reports] == ["long.wav", "short.wav"]
    assert reports[0]["duration_s"] == 12.0 and 1.0 < reports[0]["trimmed_s"] < 1.8
    assert len(clips[0]) == round(reports[0]["trimmed_s"] * SR)
    assert [n for n in state.notes if "trimmed" in n] == [
        f"long.wav: trimmed from 12.0 s to {reports[0]['trimmed_s']:.1f} s around its "
        f"{reports[0]['speech_s']:.1f} s of speech."]
    peak = request.recipe.recording_peak
    assert all(float(np.max(np.abs(c))) == pytest.approx(peak, rel=1e-3) for c in clips)
    chatty = np.concatenate([floor(1.0), speechlike(6.2)[SR // 2:-(SR // 2)], floor(1.0)])
    bad = TrainRequest("computer", [write_wav(tmp_path / "chatty.wav", chatty)])
    with pytest.raises(InvalidAudioError) as info:
        load_recordings(JobState(bad, progress=lambda _: None, should_cancel=lambda: False,
                                 threads=1))
    assert info.value.details["reason"] == "speech_too_long"
