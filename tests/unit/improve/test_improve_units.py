"""The improve job's small rules: the FRR guard, cropping at the peak, the clip snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wakebuilder.audio.format import FRAME_SAMPLES, SAMPLE_RATE
from wakebuilder.errors import ConflictError
from wakebuilder.improve.options import ImproveOptions, snapshot_clips
from wakebuilder.improve.run import (
    CROP_BEFORE_S,
    allowed_rise,
    check_frr,
    crop_at_peak,
    frr_rise,
)


def _improvement(before: float, after: float, margin: float) -> dict[str, object]:
    rise = frr_rise(before, after)
    return {"before": {"frr": before}, "after": {"frr": after}, "frr_rise": rise,
            "frr_worse": rise > margin + 1e-9, "improved_from": "m"}


def test_worse_frr_is_refused_unless_accepted() -> None:
    opts = ImproveOptions(max_frr_increase=0.01)
    check_frr(_improvement(0.05, 0.055, 0.01), opts)  # within the margin
    check_frr(_improvement(0.05, 0.02, 0.01), opts)  # better
    with pytest.raises(ConflictError) as err:
        check_frr(_improvement(0.05, 0.08, 0.01), opts)
    assert err.value.details["reason"] == "frr_worse"
    assert "5.0%" in err.value.message and "8.0%" in err.value.message
    check_frr(_improvement(0.05, 0.08, 0.01), ImproveOptions(accept_worse_frr=True))
    assert frr_rise(None, 0.3) == 0.0
    assert allowed_rise(0.01, 50) == 0.02  # one clip of 50
    assert allowed_rise(0.01, 1000) == 0.01 and allowed_rise(0.01, None) == 0.01


def test_crop_ends_at_the_peak_frame() -> None:
    clip = np.arange(3 * SAMPLE_RATE, dtype=np.float32)
    out = crop_at_peak(clip, peak_frame=30)  # frame 30 ends at 31 * 1280 samples
    end = 31 * FRAME_SAMPLES + int(0.05 * SAMPLE_RATE)
    assert out[-1] == end - 1 and len(out) == int(CROP_BEFORE_S * SAMPLE_RATE)
    assert len(crop_at_peak(clip, peak_frame=1)) > 0  # too little before: from the start


def test_snapshot_copies_clips_by_label(tmp_path: Path) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(b"A")
    b.write_bytes(b"B")
    out = snapshot_clips([(a, "false_wake"), (b, "wake_word")], tmp_path / "job")
    assert [Path(p).read_bytes() for p in out["negatives"]] == [b"A"]
    assert [Path(p).read_bytes() for p in out["positives"]] == [b"B"]
