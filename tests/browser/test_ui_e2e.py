"""The whole web UI in a real browser: record 3 clips with a fake microphone, train with fast
settings, watch progress to completion, read the results, see a live detection (captured),
test a file, label the captured clip and improve the model into a new version, browse the
library, and cancel a second job.

Debian's Chromium plays a WAV of "computer" clips with pauses as the microphone
(``--use-file-for-fake-audio-capture``). Screenshots of every step go to ``test-artifacts/ui/``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .conftest import COMPUTER_WAVS, Server, chromium_args

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAST = {"num_epochs": 6, "target_positive_samples": 300, "batch_size": 128,
        "learning_rate": 0.001, "negative_ratio": 4, "steps_per_epoch": 40, "early_stopping": 0}
TRAIN_TIMEOUT_MS = 300_000


def _get(server: Server, path: str) -> Any:
    with urllib.request.urlopen(server.url + path, timeout=10) as r:
        return json.load(r)


def _post(server: Server, path: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(server.url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def _wait_for_job(server: Server, job_id: str) -> Any:
    """The job's status once it has ended (or when the training timeout runs out)."""
    deadline = time.monotonic() + TRAIN_TIMEOUT_MS / 1000
    status = _get(server, f"/api/train/status/{job_id}")
    while status["status"] not in ("completed", "failed", "cancelled") and (
            time.monotonic() < deadline):
        time.sleep(1.0)
        status = _get(server, f"/api/train/status/{job_id}")
    return status


def _reason(status: dict[str, Any]) -> str | None:
    """``details.reason`` of a failed job's error, if any."""
    return ((status.get("error") or {}).get("details") or {}).get("reason")


class Steps:
    """Timed steps with a screenshot each."""

    def __init__(self, page: Any, out: Path) -> None:
        self.page, self.out, self.n, self.t0 = page, out, 0, time.monotonic()
        self.times: list[tuple[str, float]] = []

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        self.n += 1
        path = self.out / f"{self.n:02d}-{name}.png"
        # The sticky top bar would be painted mid-page in a full-page capture. (Set through
        # the CSSOM: screenshot(style=...) injects a <style>, which the UI's CSP refuses.)
        bar = "document.querySelector('.topbar')"
        self.page.evaluate(f"() => {{ const b = {bar}; if (b) b.style.position = 'static'; }}")
        self.page.screenshot(path=str(path), full_page=full_page)
        self.page.evaluate(f"() => {{ const b = {bar}; if (b) b.style.position = ''; }}")
        self.times.append((name, round(time.monotonic() - self.t0, 1)))
        return path


def test_record_train_watch_and_detect(chromium_path: Path, fake_mic_wav: Path,
                                      server: Server, artifacts: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), headless=True,
                                    args=chromium_args(fake_mic_wav))
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      permissions=["microphone"])
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: errors.append(f"console: {m.text}")
                if m.type == "error" else None)
        steps = Steps(page, artifacts)
        try:
            _run(page, expect, server, steps)
        except Exception:
            steps.shot("failure")
            (artifacts / "server.log").write_text(server.log_tail(400))
            raise
        finally:
            (artifacts / "step-times.json").write_text(json.dumps(steps.times, indent=1))
            context.close()
            browser.close()
    assert not errors, errors


def _run(page: Any, expect: Any, server: Server, steps: Steps) -> None:
    page.goto(server.url + "/")
    expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=15_000)
    expect(page.locator("#view-train")).to_be_visible()

    # -- step 1: wake word with inline validation ----------------------------------------
    ww = page.get_by_role("textbox", name="Wake word")
    ww.fill("hey <computer>")
    expect(page.locator("#wake-word-error")).to_contain_text("Only letters")
    ww.fill("computer")
    expect(page.locator("#wake-word-error")).to_be_empty()
    steps.shot("wizard-wake-word")
    page.get_by_role("button", name="Next: recordings").click()

    # -- step 2: three clips through the fake microphone ---------------------------------
    record = page.locator("#record-btn")
    for i in range(1, 4):
        expect(record).to_be_enabled(timeout=15_000)
        record.click()
        clips = page.locator("#clips li.clip")
        expect(clips).to_have_count(i, timeout=20_000)
        expect(clips.nth(i - 1)).to_have_class("clip ok", timeout=15_000)
    expect(page.locator("#clips .clip-quality").first).to_contain_text("of speech")
    steps.shot("wizard-recordings")
    page.get_by_role("button", name="Next: train").click()

    # -- step 3: fast settings through the advanced options ------------------------------
    page.locator("#advanced summary").click()
    for name, value in FAST.items():
        page.locator(f"#opt-{name}").fill(str(value))
    expect(page.locator(".option.changed")).to_have_count(len(FAST))
    steps.shot("wizard-advanced")
    page.get_by_role("button", name="Start training").click()

    # -- live training view --------------------------------------------------------------
    page.wait_for_url("**/#/job/*", timeout=20_000)
    job_id = page.url.rsplit("/", 1)[-1]
    config = _get(server, f"/api/train/status/{job_id}")["config"]
    for name, value in FAST.items():
        assert config[name] == value, (name, config[name])
    expect(page.locator("#job-chart svg.chart")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    expect(page.locator("#job-stats dl")).to_be_visible()
    expect(page.locator("#job-eta")).not_to_have_text("—")
    # A few epochs into training (or done already, on a fast machine).
    # (Polled from here: wait_for_function would eval() a string, which the UI's CSP forbids.)
    deadline = time.monotonic() + TRAIN_TIMEOUT_MS / 1000
    while (page.locator("#job-chart circle.s0").count() < 3
           and not page.locator("#results").is_visible()):
        assert time.monotonic() < deadline, "no training progress shown"
        page.wait_for_timeout(250)
    steps.shot("training-progress")
    expect(page.locator("#results")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    expect(page.locator("#job-status")).to_have_text("completed")
    expect(page.locator("#job-progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#res-fa-words")).to_contain_text("false wake")
    expect(page.locator("#res-det svg.chart circle.marker")).to_be_attached()
    status = _get(server, f"/api/train/status/{job_id}")
    assert status["status"] == "completed" and status["model_id"] == "computer"
    steps.shot("results")

    # -- live test: a detection from the fake microphone ---------------------------------
    page.get_by_role("button", name="Test now").click()
    page.wait_for_url("**/#/test/computer")
    model = _get(server, "/api/models/computer")
    expect(page.locator("#test-threshold-value")).to_have_text(f"{model['threshold']:.2f}")
    page.get_by_role("button", name="Start listening").click()
    expect(page.locator("#live-state")).to_contain_text("Listening for", timeout=15_000)
    expect(page.locator("#detection-log li.detection").first).to_be_visible(timeout=45_000)
    steps.shot("live-test")
    # Moving the slider sends a config message; the server acknowledges the new value.
    page.locator("#test-threshold").fill("0.9")
    expect(page.locator("#test-threshold-value")).to_have_text("0.90")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#live-state")).to_contain_text("Stopped")

    # -- file test ------------------------------------------------------------------------
    page.locator("#threshold-reset").click()
    page.locator("#file-test-input").set_input_files(str(COMPUTER_WAVS[1]))
    page.get_by_role("button", name="Run the detector on the file").click()
    expect(page.locator("#file-test-result .verdict")).to_be_visible(timeout=20_000)
    steps.shot("file-test")

    # -- captured clips (capture is on by default): label, improve, a new version -------
    new_id = _label_and_improve(page, expect, server, steps)

    # -- library ----------------------------------------------------------------------------
    page.get_by_role("link", name="Library", exact=True).click()
    card = page.locator("li.model-card[data-model=computer]")
    expect(card).to_be_visible(timeout=10_000)
    page.get_by_label("Default", exact=True).check()
    expect(card).to_have_count(0)
    page.get_by_label("Custom", exact=True).check()
    expect(card).to_be_visible()
    steps.shot("library")
    card.get_by_role("button", name="Details of computer").click()
    expect(page.locator("#model-details .config-table").first).to_be_visible()
    expect(page.locator("#model-details svg.chart")).to_have_count(2)
    steps.shot("library-details")

    # -- phone-sized layout of the results ----------------------------------------------
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server.url}/#/job/{job_id}")
    expect(page.locator("#results")).to_be_visible(timeout=10_000)
    steps.shot("phone-results")
    page.set_viewport_size({"width": 1280, "height": 900})

    # -- cancel a second job (the results page is showing) ----------------------------
    _cancel_second_job(page, expect, server, steps)

    # -- delete with confirmation ---------------------------------------------------------
    page.goto(f"{server.url}/#/library")
    card = page.locator("li.model-card[data-model=computer]")
    expect(card).to_be_visible(timeout=10_000)
    card.get_by_role("button", name="Delete computer").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Keep it").click()
    expect(card).to_be_visible()
    card.get_by_role("button", name="Delete computer").click()
    dialog.get_by_role("button", name="Delete model").click()
    expect(card).to_have_count(0, timeout=10_000)
    left = {m["id"] for m in _get(server, "/api/models?type=custom")["models"]}
    assert left == {new_id}  # the improved version is a model of its own


def _label_and_improve(page: Any, expect: Any, server: Server, steps: Steps) -> str:
    """Label the live test's captured detection "that was me", improve the model from the
    Test page, follow the job, and find the new version in the library."""
    captured = page.locator("#test-captures li.capture[data-kind=detection]").first
    expect(captured).to_be_visible(timeout=20_000)
    captured.get_by_role("button", name="That was me").click()
    expect(page.locator("#test-captures li.capture.labelled.wake_word").first).to_be_visible(
        timeout=10_000)
    steps.shot("captured-clips")
    page.get_by_role("button", name="Improve this model").click()
    page.wait_for_url("**/#/job/*", timeout=20_000)
    job_id = page.url.rsplit("/", 1)[-1]
    # The job page is reused from the training job: wait for the server to finish this job,
    # then for the page to show it (its status text may still read the previous job's).
    status = _wait_for_job(server, job_id)
    if status["status"] == "failed" and _reason(status) == "frr_worse":
        # The improve job's gate refused the new version: its held-out FRR rose by more than
        # allowed, which one live capture on this tiny test model (a few dozen held-out
        # positives) can do. The page must say so; then publish it anyway, as its message
        # offers (the API's accept_worse_frr).
        expect(page.locator("#job-status")).to_have_text("failed", timeout=30_000)
        expect(page.locator("#job-error")).to_contain_text("misses more", timeout=10_000)
        steps.shot("improve-refused")
        job_id = _post(server, "/api/models/computer/improve", {"accept_worse_frr": True})[
            "job_id"]
        page.goto(f"{server.url}/#/job/{job_id}")
        status = _wait_for_job(server, job_id)
    assert status["kind"] == "improve" and status["status"] == "completed", (
        status.get("error"), status.get("message"))
    expect(page.locator("#job-status")).to_have_text("completed", timeout=30_000)
    new_id = status["model_id"]
    assert new_id and new_id != "computer"
    page.goto(f"{server.url}/#/library/{new_id}")
    expect(page.locator(f"li.model-card[data-model={new_id}]")).to_be_visible(timeout=10_000)
    expect(page.locator("li.model-card[data-model=computer]")).to_be_visible()
    expect(page.locator("#model-details .improved")).to_contain_text("Improved from computer")
    steps.shot("improved-version")
    return str(new_id)


def _cancel_second_job(page: Any, expect: Any, server: Server, steps: Steps) -> None:
    # "Train another" empties the wizard; this time the clips are uploaded files.
    page.get_by_role("button", name="Train another").click()
    page.wait_for_url("**/#/train")
    expect(page.get_by_role("textbox", name="Wake word")).to_have_value("")
    page.get_by_role("textbox", name="Wake word").fill("hey jarvis")
    page.get_by_role("button", name="Next: recordings").click()
    expect(page.locator("#clips li.clip")).to_have_count(0)
    page.locator("#upload-input").set_input_files([str(w) for w in COMPUTER_WAVS[:2]])
    expect(page.locator("#clips li.clip.ok")).to_have_count(2, timeout=15_000)
    page.get_by_role("button", name="Next: train").click()
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url("**/#/job/*", timeout=20_000)
    job_id = page.url.rsplit("/", 1)[-1]
    expect(page.locator("#job-status")).to_have_text("training", timeout=30_000)
    page.get_by_role("button", name="Cancel training").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Cancel training").click()
    expect(page.locator("#job-status")).to_have_text("cancelled", timeout=60_000)
    expect(page.locator("#job-error")).to_contain_text("cancelled")
    steps.shot("cancelled")
    assert _get(server, f"/api/train/status/{job_id}")["status"] == "cancelled"
