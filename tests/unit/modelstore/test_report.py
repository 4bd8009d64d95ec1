"""report.md: the held-out figures first, in plain words naming the audio; the calibration
figure labelled in-sample; "too little held-out audio" when so; old models."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import random_model
from wakebuilder.modelstore.metrics import FalseAccepts, HeldoutFalseAccepts, ModelMetrics
from wakebuilder.modelstore.report import render_report


def _heldout(hours: float, events: int) -> HeldoutFalseAccepts:
    by_kind = {"speech": FalseAccepts.measure(events, hours * 0.5, in_sample=False),
               "music": FalseAccepts.measure(0, hours * 0.3, in_sample=False),
               "noise": FalseAccepts.measure(0, hours * 0.2, in_sample=False)}
    total = FalseAccepts.measure(events, hours, in_sample=False)
    return HeldoutFalseAccepts(**total.model_dump(), by_kind=by_kind,
                               sources=["corpus/a", "generated/tts"])


def _report(tmp_path: Path, metrics: ModelMetrics) -> str:
    m = random_model(tmp_path, "word").model_copy(update={"metrics": metrics})
    return render_report(m)


def test_heldout_first_and_named(tmp_path: Path) -> None:
    cal = FalseAccepts.measure(1, 3.0, in_sample=True)
    text = _report(tmp_path, ModelMetrics(heldout=_heldout(2.1, 2), calibration=cal))
    expect = text.split("## What to expect")[1]
    first = expect.strip().splitlines()[0]
    assert "0.95 per hour" in first and "2.1 h of held-out speech, music and noise " \
        "that no part of training saw" in first
    assert expect.index("False wakes") < expect.index("In-sample calibration figure")
    assert "the audio that chose the threshold" in expect
    assert "`corpus/a`" in text and "| music | 0.63 | 0 | 0.00 |" in text
    assert "## Score scales" in text and "## Files" in text


def test_too_little_heldout_audio(tmp_path: Path) -> None:
    text = _report(tmp_path, ModelMetrics(heldout=_heldout(0.2, 0)))
    assert "too little held-out audio to estimate" in text
    assert "0.00 per hour" not in text


def test_old_model_without_heldout(tmp_path: Path) -> None:
    old = ModelMetrics.model_validate({"fa_per_hour": 0.4, "calibration_hours": 2.5,
                                       "frr": 0.1})
    text = _report(tmp_path, old)
    assert "trained before the held-out split" in text
    assert "In-sample calibration figure: 0.4" in text


def test_thin_negatives_are_said_at_the_top(tmp_path: Path) -> None:
    base = random_model(tmp_path, "word")
    thin = base.model_copy(update={"data_stats": {**base.data_stats, "negatives_thin": True,
                                                  "natural_speech_hours": 0.04}})
    text = render_report(thin)
    top = text.split("## What to expect")[0]
    assert "**Thin negatives**" in top and "0.04 h of natural speech" in top
    full = base.model_copy(update={"data_stats": {**base.data_stats, "negatives_thin": False,
                                                  "natural_speech_hours": 12.0}})
    assert "Thin negatives" not in render_report(full)


def test_partial_negatives_are_said_at_the_top(tmp_path: Path) -> None:
    base = random_model(tmp_path, "word")
    partial = base.model_copy(update={"data_stats": {
        **base.data_stats, "negatives_partial": True,
        "negative_store_stage": "fetching and embedding the rest"}})
    top = render_report(partial).split("## What to expect")[0]
    assert "**Partial negatives**" in top and "fetching and embedding the rest" in top
    assert "Partial negatives" not in render_report(base)
