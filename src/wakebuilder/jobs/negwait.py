"""A training job queued until the negative store has a useful first slice."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from wakebuilder.errors import CancelledError
from wakebuilder.layout import DataLayout
from wakebuilder.negstore.readiness import readiness
from wakebuilder.negstore.status import is_building, read_status

if TYPE_CHECKING:
    from wakebuilder.jobs.worker import JobContext

WAIT_PHASE = "Waiting for negatives"
POLL_S = 2.0
MAX_WAIT_S = 45 * 60.0
"""After this long the job trains on what is there (and says so)."""
STATS_EVERY_S = 15.0
"""How often a waiting job counts the natural speech already committed."""
REPEAT_S = 30.0
"""An unchanged waiting message is written again only this often (the job log stays short)."""


def wait_for_negatives(ctx: JobContext, *, poll_s: float = POLL_S,
                       max_wait_s: float = MAX_WAIT_S) -> float:
    """Block while a negative build runs without a useful slice; returns seconds waited.

    Reports the build's stage and ETA as the job's message; honours cancel."""
    root = DataLayout(ctx.data_dir).negative_store_dir
    t0 = time.monotonic()
    last, last_at = "", 0.0
    stats_at = -STATS_EVERY_S
    while True:
        status = read_status(root)
        if not is_building(status) or (status or {}).get("slice_ready"):
            break
        if time.monotonic() - stats_at >= STATS_EVERY_S:  # reading the index costs ~0.3 s
            stats_at = time.monotonic()
            if readiness(root)["slice_ready"]:  # enough natural speech already committed
                break
        waited = time.monotonic() - t0
        if waited >= max_wait_s:
            break
        status = status or {}
        eta = status.get("eta_s")
        message = (f"queued until the first slice of real negatives is ready (build: "
                   f"{status.get('stage', '?')}, "
                   f"{round(100 * float(status.get('progress', 0)))} %"
                   + (f", stage ETA {round(eta / 10) * 10} s" if eta is not None else "") + ")")
        if message != last or time.monotonic() - last_at >= REPEAT_S:
            ctx.report(phase=WAIT_PHASE, progress=0.0, message=message)
            last, last_at = message, time.monotonic()
        if ctx.should_cancel():
            raise CancelledError("training was cancelled while waiting for negatives")
        time.sleep(poll_s)
    waited = time.monotonic() - t0
    if waited > 0.5:
        ctx.report(phase=WAIT_PHASE, progress=0.0,
                   message=f"negatives ready after {waited:.0f} s of waiting")
    return waited
