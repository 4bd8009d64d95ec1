"""Step 1: the user's recordings, checked, level-normalised, and split into training and
untouched (held-out) recordings."""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.checks import load_recording
from wakebuilder.audio.format import Samples
from wakebuilder.errors import InvalidInputError
from wakebuilder.pipeline.request import MAX_RECORDINGS
from wakebuilder.pipeline.state import JobState

TRIM_NOTE_S = 2.0
"""Trimming that drops at least this much of a recording is said in the model's notes."""


def load_recordings(state: JobState) -> list[Samples]:
    """Decode, check and trim each recording to its speech (:func:`load_recording`, as the
    API does); normalise its peak to the recipe's level."""
    state.report("Checking recordings")
    files = state.request.recordings
    if not 1 <= len(files) <= MAX_RECORDINGS:
        raise InvalidInputError(f"give 1 to {MAX_RECORDINGS} recordings, got {len(files)}",
                                {"count": len(files)})
    clips, reports = [], []
    peak = state.plan.recording_peak
    for path in files:
        clip, rep = load_recording(path, path.name)
        # The augmentation draws gains around this level.
        kept_peak = float(np.max(np.abs(clip)))  # the kept speech, not a click trimmed away
        clips.append((clip * np.float32(peak / max(kept_peak, 1e-6))).astype(np.float32))
        reports.append(rep.to_dict())
        if rep.trimmed_away_s >= TRIM_NOTE_S:
            state.notes.append(f"{path.name}: {rep.summary()}.")
        if rep.quiet:
            state.notes.append(f"{path.name} is quiet ({rep.level_dbfs:.0f} dBFS); it was "
                               "level-normalised, but recording closer to the mic is better.")
    state.stats["recordings"] = len(clips)
    state.stats["recording_reports"] = reports
    return clips


def split_recordings(state: JobState, user: list[Samples]) -> tuple[list[Samples],
                                                                    list[Samples]]:
    """(training recordings, held-out recordings): with the recipe's minimum (3) or more,
    one recording, chosen by the job's random generator, stays out of training."""
    order = state.rng.permutation(len(user))
    user = [user[i] for i in order]
    if len(user) >= state.plan.min_recordings_to_hold_out:
        return user[:-1], user[-1:]
    return user, []
