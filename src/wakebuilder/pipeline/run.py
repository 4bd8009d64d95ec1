"""A whole training job as named steps: recordings, negative store, speech, dataset, fit,
(with an untouched recording: measure it, then train on every recording), calibrate,
publish. Progress is reported per phase; cancellation is checked between and inside steps."""

from __future__ import annotations

import torch

from wakebuilder.layout import DataLayout
from wakebuilder.pipeline.calibrate import calibrate, measure_fold
from wakebuilder.pipeline.dataset import build_dataset, open_negative_store
from wakebuilder.pipeline.fit import fit, fit_all_recordings
from wakebuilder.pipeline.publish import publish
from wakebuilder.pipeline.recordings import load_recordings, split_recordings
from wakebuilder.pipeline.request import TrainRequest, TrainResult
from wakebuilder.pipeline.speech import synthesize
from wakebuilder.pipeline.state import JobState
from wakebuilder.training.progress import (
    CancelCheck,
    ProgressCallback,
    never_cancel,
    no_progress,
)
from wakebuilder.wakeword import parse_wake_word


def run_training(request: TrainRequest, layout: DataLayout, *,
                 progress: ProgressCallback = no_progress,
                 should_cancel: CancelCheck = never_cancel, threads: int = 2) -> TrainResult:
    """Run the whole pipeline; raises WakeBuilderError subclasses (CancelledError on cancel).

    The same request (config, recipe, seed, recordings) gives the same model bit for bit.
    """
    torch.set_num_threads(threads)
    state = JobState(request, progress=progress, should_cancel=should_cancel, threads=threads)
    ww = parse_wake_word(request.wake_word)
    user = load_recordings(state)
    state.check_cancel()
    neg = open_negative_store(state, layout)
    state.check_cancel()
    train_user, heldout_user = split_recordings(state, user)
    tts_pos, tts_hard = synthesize(state, ww.text, layout.voices_dir)
    state.check_cancel()
    dataset = build_dataset(state, neg, train_user, heldout_user, tts_pos, tts_hard)
    trained = fit(state, dataset.training, neg)
    fold = None
    if dataset.heldout_user and state.plan.train_on_all_recordings:
        fold = measure_fold(state, trained, neg, dataset)
        state.stats["fold_threshold"] = round(fold.threshold, 6)
        trained = fit_all_recordings(state, trained, dataset)
    cal = calibrate(state, trained, neg, dataset, fold)
    return publish(state, ww, trained, cal, layout)
