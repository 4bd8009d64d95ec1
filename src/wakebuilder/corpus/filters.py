"""Keep speech (or music and effects for those sources), drop silence and very short clips."""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, rms_db, to_int16

MIN_SECONDS = 0.3
"""Clips shorter than this are dropped (too short to hold a word)."""
MIN_RMS_DB = -55.0
"""Clips quieter than this overall are silence."""
MIN_VOICED_SECONDS = 0.15
"""Seconds of 30 ms frames WebRTC VAD must call voiced for a clip to count as speech.
An absolute amount, so a word padded with long silence is still kept."""
_VAD_FRAME = 480  # 30 ms at 16 kHz


def voiced_fraction(samples: np.ndarray, aggressiveness: int = 2) -> float:
    """Fraction of 30 ms frames that WebRTC VAD calls speech (16 kHz input)."""
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)
    pcm = to_int16(samples)
    frames = len(pcm) // _VAD_FRAME
    if frames == 0:
        return 0.0
    voiced = sum(
        vad.is_speech(pcm[i * _VAD_FRAME:(i + 1) * _VAD_FRAME].tobytes(), SAMPLE_RATE)
        for i in range(frames))
    return voiced / frames


def rejection_reason(samples: np.ndarray, kind: str = "speech") -> str | None:
    """Why a 16 kHz clip is not kept (``too_short``, ``silent``, ``no_speech``), or ``None``
    when it is kept. Only ``kind="speech"`` sources must hold voiced audio; music and effects
    are kept whenever they are long and loud enough."""
    if samples.size < MIN_SECONDS * SAMPLE_RATE:
        return "too_short"
    if rms_db(samples) < MIN_RMS_DB:
        return "silent"
    if kind != "speech":
        return None
    if voiced_fraction(samples) * samples.size / SAMPLE_RATE < MIN_VOICED_SECONDS:
        return "no_speech"
    return None
