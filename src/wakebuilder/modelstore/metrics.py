"""The typed quality figures of a model (``ModelManifest.metrics``).

Two false-accept figures, never mixed up:

- ``calibration``: counted on the calibration streams, the audio that CHOSE the threshold, so
  it is in-sample (at most the target by construction);
- ``heldout``: counted on the held-out split of the negative store (whole sources that no part
  of training, early stopping, mining or the threshold choice saw), with its hours, events,
  a 95 % Poisson upper bound and the same per kind of audio.

False rejects are counted at the chosen threshold on held-out positives (held-out TTS voices,
the untouched user recording, augmented copies of it). Manifests written before this module
kept a flat dict; :meth:`ModelMetrics._from_old` maps it (its ``fa_per_hour`` was the
in-sample calibration figure; those models have no held-out figure).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

MIN_HELDOUT_HOURS = 0.5
"""Below this much held-out audio the false-accept rate is "too little audio to estimate"."""

_OLD_PARITY_KEYS = ("onnx_parity_max_diff", "onnx_transform_max_diff",
                    "tflite_reference_max_diff", "tflite_litert_max_diff")


def poisson_upper_95(events: int) -> float:
    """One-sided 95 % upper bound of a Poisson mean after observing ``events`` (exact).

    The ``lam`` with P(X <= events | lam) = 0.05 (3.0 for 0 events, 4.74 for 1).
    """
    if events < 0:
        raise ValueError("events must be >= 0")

    def cdf(lam: float) -> float:
        term = total = math.exp(-lam)
        for i in range(1, events + 1):
            term *= lam / i
            total += term
        return total

    lo, hi = float(events), float(events) + 10.0 * math.sqrt(events + 1.0) + 10.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if cdf(mid) > 0.05:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class FalseAccepts(_Frozen):
    """False accepts counted on some hours of negative audio at the chosen threshold."""

    fa_per_hour: float | None = Field(description="events / hours; None without audio")
    hours: float = Field(ge=0.0, description="Hours the detector listened while the "
                         "events were counted (past its warm-up, pauses included)")
    events: int | None = Field(default=None, ge=0, description="Detections counted (None: "
                               "not recorded, models written before typed metrics)")
    upper_95_per_hour: float | None = Field(
        default=None, description="95 % Poisson upper bound of the rate (None without audio)")
    in_sample: bool = Field(description="True when this audio also chose the threshold")

    @classmethod
    def measure(cls, events: int, hours: float, *, in_sample: bool) -> FalseAccepts:
        """The figure for ``events`` detections on ``hours`` of audio."""
        if hours <= 0:
            return cls(fa_per_hour=None, hours=0.0, events=events, in_sample=in_sample)
        return cls(fa_per_hour=round(events / hours, 4), hours=round(hours, 4), events=events,
                   upper_95_per_hour=round(poisson_upper_95(events) / hours, 4),
                   in_sample=in_sample)


class HeldoutFalseAccepts(FalseAccepts):
    """The held-out figure, also per kind of audio (speech, music, noise, tts, mixture, other)."""

    in_sample: bool = False
    by_kind: dict[str, FalseAccepts] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list, description="The held-out sources")


class Rejects(_Frozen):
    """False rejects on some held-out positives at the chosen threshold."""

    frr: float | None = Field(default=None, description="rejected / count; None without clips")
    rejected: int | None = Field(default=None, ge=0)
    count: int | None = Field(default=None, ge=0, description="Positives tried (None: not "
                              "recorded, models written before typed metrics)")

    @classmethod
    def measure(cls, rejected: int, count: int) -> Rejects:
        """The figure for ``rejected`` misses out of ``count`` positives."""
        return cls(frr=round(rejected / count, 4) if count else None, rejected=rejected,
                   count=count)


class RejectFigures(_Frozen):
    """FRR overall and per kind of held-out positive."""

    overall: Rejects = Field(default_factory=Rejects)
    tts_heldout: Rejects = Field(default_factory=Rejects,
                                 description="Clips of TTS voices held out of training")
    user_heldout: Rejects = Field(default_factory=Rejects,
                                  description="The untouched user recording (3+ recordings)")
    user_augmented: Rejects = Field(default_factory=Rejects,
                                    description="Augmented copies of the user recordings")
    user_augmented_is_heldout: bool = Field(
        default=False, description="True when the augmented copies come from the untouched "
                                   "recording; False: from training recordings (fewer than 3)")
    user_heldout_is_fold: bool = Field(
        default=False, description="True when the untouched-recording figures were measured "
        "on the model trained without it, at that model's own threshold, before the shipped "
        "model continued training on every recording")


class ParityDiffs(_Frozen):
    """Largest output differences of the exported files (checked at export)."""

    onnx_parity_max_diff: float | None = None
    onnx_transform_max_diff: float | None = None
    tflite_reference_max_diff: float | None = None
    tflite_litert_max_diff: float | None = None


class ModelMetrics(_Frozen):
    """Everything measured about one model. ``accuracy``/``precision``/``recall``/``f1_score``
    are the API reference's validation figures (at 0.5, on windows from held-out voices and
    recordings against validation-split negatives)."""

    accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1_score: float | None = None
    calibration: FalseAccepts | None = Field(
        default=None, description="In-sample: FA/h on the audio that chose the threshold")
    heldout: HeldoutFalseAccepts | None = Field(
        default=None, description="FA/h on held-out audio no part of training saw (None for "
                                  "models trained before the held-out split)")
    rejects: RejectFigures = Field(default_factory=RejectFigures)
    parity: ParityDiffs = Field(default_factory=ParityDiffs)
    train_seconds: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def enough_heldout_audio(self) -> bool:
        """False under MIN_HELDOUT_HOURS of held-out audio: say "too little held-out audio to
        estimate" instead of printing its rate."""
        return self.heldout is not None and self.heldout.hours >= MIN_HELDOUT_HOURS

    @property
    def heldout_fa_per_hour(self) -> float | None:
        """The held-out rate (None when there is none)."""
        return self.heldout.fa_per_hour if self.heldout is not None else None

    @property
    def heldout_hours(self) -> float | None:
        """Hours of held-out audio (None when there is none)."""
        return self.heldout.hours if self.heldout is not None else None

    @property
    def calibration_fa_per_hour(self) -> float | None:
        """The in-sample calibration rate (None when there was no calibration audio)."""
        return self.calibration.fa_per_hour if self.calibration is not None else None

    @property
    def frr(self) -> float | None:
        """Overall false-reject rate on held-out positives."""
        return self.rejects.overall.frr

    @model_validator(mode="before")
    @classmethod
    def _from_old(cls, data: Any) -> Any:
        """Map the flat dict of manifests written before typed metrics."""
        if not isinstance(data, dict) or "rejects" in data or "calibration" in data:
            return data
        old_keys = {"fa_per_hour", "calibration_hours", "frr", "frr_tts_heldout",
                    *_OLD_PARITY_KEYS}
        if not old_keys & data.keys():
            return data
        out: dict[str, Any] = {k: data.get(k) for k in ("accuracy", "precision", "recall",
                                                         "train_seconds")}
        out["f1_score"] = data.get("f1_score", data.get("f1"))
        fa, hours = data.get("fa_per_hour"), data.get("calibration_hours")
        if isinstance(hours, int | float) and hours > 0 and isinstance(fa, int | float):
            out["calibration"] = {"fa_per_hour": fa, "hours": hours,
                                  "events": int(round(fa * hours)), "in_sample": True}
        out["rejects"] = {
            "overall": {"frr": data.get("frr"), "count": data.get("heldout_positive_count")},
            "tts_heldout": {"frr": data.get("frr_tts_heldout")},
            "user_heldout": {"frr": data.get("frr_user_heldout")},
            "user_augmented": {"frr": data.get("frr_user_augmented")},
            "user_augmented_is_heldout": bool(data.get("frr_user_augmented_is_heldout")),
        }
        out["parity"] = {k: data[k] for k in _OLD_PARITY_KEYS if k in data}
        return out
