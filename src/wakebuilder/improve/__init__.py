"""Improving a published model from clips the user labelled (``run.py``: ``run_improve``).

Beside ``pipeline/`` (same layer): it reuses the training job's steps (negative store, speech,
calibration, export) and adds only what fine-tuning from labelled clips needs."""
