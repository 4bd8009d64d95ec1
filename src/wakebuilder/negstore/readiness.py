"""Whether the negative store is worth training on now, and what to tell the user if not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wakebuilder.negstore.status import USEFUL_SPEECH_HOURS, is_building, read_status
from wakebuilder.negstore.store import NegativeStore

THIN_EFFECT = ("a model trained now learns from generated negatives only and usually "
               "false-wakes far more often on real speech and music")


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "a few minutes"
    return f"about {max(1, round(seconds / 60))} min"


def readiness(root: Path, by_kind: dict[str, Any] | None = None) -> dict[str, Any]:
    """``building``, ``slice_ready``, ``useful`` (training now uses a useful slice),
    ``thin`` (too little natural speech), ``speech_hours``, ``hours_by_kind``, ``status``
    (the build's state file) and a ``warning`` sentence when training now is a bad idea.

    ``by_kind`` (the store's ``stats()["by_kind"]``) saves reading the index again."""
    status = read_status(root)
    if by_kind is None:
        by_kind = NegativeStore(root).stats()["by_kind"]
    hours = {k: round(float(v["hours"]), 3) for k, v in sorted(by_kind.items())}
    speech = hours.get("speech", 0.0)
    building = is_building(status)
    slice_ready = bool(status and status.get("slice_ready")) or speech >= USEFUL_SPEECH_HOURS
    thin = speech < USEFUL_SPEECH_HOURS
    warning = None
    if building and not slice_ready:
        warning = (f"The real negatives are still being prepared ({status.get('stage', '')}; "
                   f"{_minutes(status.get('eta_s'))} left in this stage): {THIN_EFFECT}. "
                   "The job waits for the first slice unless wait_for_negatives=false.")
    elif thin:
        warning = (f"The negative store holds {speech:.2f} h of natural speech: "
                   f"{THIN_EFFECT}. Run `wakebuilder cache prepare` (or POST "
                   "/api/cache/build after `wakebuilder corpus fetch`) to add real speech.")
    return {"building": building, "slice_ready": slice_ready, "useful": not thin,
            "thin": thin, "speech_hours": speech, "hours_by_kind": hours, "status": status,
            "warning": warning}


def should_wait(root: Path) -> bool:
    """The default of ``wait_for_negatives``: wait while a build runs and no useful slice is
    committed yet."""
    info = readiness(root)
    return bool(info["building"] and not info["slice_ready"])
