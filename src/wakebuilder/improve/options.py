"""The options of an improve job and the snapshot of its labelled clips (light imports: the
API reads these without loading torch)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field


class ImproveOptions(BaseModel):
    """Options of ``POST /api/models/{id}/improve`` and ``wakebuilder improve``."""

    max_frr_increase: float = Field(
        default=0.01, ge=0.0, le=1.0,
        description="Largest rise of held-out FRR (overall, as a fraction: 0.01 = 1 point) "
                    "the new version may have, never less than one held-out clip; more "
                    "refuses to publish it")
    accept_worse_frr: bool = Field(
        default=False, description="Publish the new version even if its FRR rose by more "
        "than max_frr_increase (the user chose it)")
    epochs: int = Field(default=10, ge=1, le=200, description="Fine-tune epochs")
    learning_rate_factor: float = Field(
        default=0.5, gt=0.0, le=10.0, description="Fine-tune learning rate, as a factor of "
        "the model's own")
    false_wake_streams: int = Field(
        default=60, ge=1, le=2000, description="Augmented streams per false-wake clip")
    positive_streams: int = Field(
        default=40, ge=1, le=2000, description="Augmented streams per confirmed/missed clip")
    positive_share: float = Field(
        default=0.25, gt=0.0, le=1.0, description="Positive streams (recordings and TTS), as "
        "a share of the model's target_positive_samples")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


def snapshot_clips(clips: list[tuple[Path, str]], target: Path) -> dict[str, list[str]]:
    """Copy labelled clips (``(wav, label)``) into ``target/negatives`` and
    ``target/positives``; returns the copied file names per folder (the job's inputs)."""
    out: dict[str, list[str]] = {"negatives": [], "positives": []}
    for wav, label in clips:
        folder = "negatives" if label == "false_wake" else "positives"
        dest = target / folder / wav.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(wav.read_bytes())
        out[folder].append(str(dest))
    (target / "clips.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out
