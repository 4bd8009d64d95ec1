"""A human-readable model report (Markdown) written next to every model: the held-out
figures first, in plain words naming the audio they were measured on."""

from __future__ import annotations

from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.metrics import MIN_HELDOUT_HOURS, FalseAccepts, ModelMetrics, Rejects

KIND_WORDS = {"speech": "speech", "music": "music", "noise": "noise",
              "tts": "synthetic speech",
              "mixture": "speech over music or noise",
              "other": "other audio"}


def describe_fa_rate(fa_per_hour: float | None) -> str:
    """Plain words for a false-accept rate ("about 1 false wake every 2 hours")."""
    if fa_per_hour is None:
        return "unknown"
    if fa_per_hour <= 0:
        return "no false wakes"
    hours = 1.0 / fa_per_hour
    if hours >= 1:
        return f"about 1 false wake every {hours:.0f} hours"
    return f"about {fa_per_hour:.0f} false wakes per hour"


def heldout_audio_words(metrics: ModelMetrics) -> str:
    """What the held-out audio was ("2.1 h of held-out speech, music and noise that no part of
    training saw")."""
    h = metrics.heldout
    if h is None:
        return "no held-out audio (the model was trained before the held-out split)"
    kinds = [KIND_WORDS.get(k, k) for k in h.by_kind]
    what = ", ".join(kinds[:-1]) + f" and {kinds[-1]}" if len(kinds) > 1 else \
        (kinds[0] if kinds else "audio")
    return f"{h.hours:.1f} h of held-out {what} that no part of training saw"


def describe_heldout(metrics: ModelMetrics) -> str:
    """The held-out false-accept figure in one sentence."""
    h = metrics.heldout
    if h is None:
        return "not measured: this model was trained before the held-out split existed."
    if not metrics.enough_heldout_audio:
        return (f"too little held-out audio to estimate ({h.hours:.2f} h; at least "
                f"{MIN_HELDOUT_HOURS} h is needed). Add audio with `wakebuilder corpus fetch` "
                "and `wakebuilder cache build`.")
    return (f"{h.fa_per_hour:.2f} per hour ({describe_fa_rate(h.fa_per_hour)}; {h.events} in "
            f"{h.hours:.2f} h, 95 % upper bound {h.upper_95_per_hour:.2f} per hour), measured "
            f"on {heldout_audio_words(metrics)}.")


def _pct(r: Rejects) -> str:
    if r.frr is None:
        return "n/a"
    counted = f" of {r.count}" if r.count is not None else ""
    missed = f" ({r.rejected}{counted} missed)" if r.rejected is not None else ""
    return f"{100 * r.frr:.1f}%{missed}"


def _fa_line(label: str, fa: FalseAccepts) -> str:
    rate = f"{fa.fa_per_hour:.2f}" if fa.fa_per_hour is not None else "n/a"
    events = str(fa.events) if fa.events is not None else "n/a"
    return f"| {label} | {fa.hours:.2f} | {events} | {rate} |"


def render_report(m: ModelManifest) -> str:
    """Markdown summary: held-out figures, calibration (in-sample), data, DET points, history."""
    mt = m.metrics
    r = mt.rejects
    lines = [
        f"# Wake word model `{m.id}`: \"{m.wake_word}\"", "",
        f"Created {m.created_at}. Threshold **{m.threshold:.4f}**.", "",
        *([f"> **Thin negatives**: only {float(m.data_stats.get('natural_speech_hours', 0)):.2f}"
           " h of natural speech among this model's negatives: expect more false wakes on "
           "real speech and music than the figures below. Retrain once the real negatives "
           "are ready (`wakebuilder cache info`).", ""]
          if m.data_stats.get("negatives_thin") else []),
        *(["> **Partial negatives**: the negative store was still being built when this "
           "model was trained (" + str(m.data_stats.get("negative_store_stage") or "building")
           + "): expect more false wakes and more misses than from a model trained on the "
           "full store. Retrain once it is ready (`wakebuilder cache info`).", ""]
          if m.data_stats.get("negatives_partial") else []),
        "## What to expect", "",
        f"- False wakes: {describe_heldout(mt)}",
        f"- Missed wake words: {_pct(r.overall)} of held-out positives at this threshold: "
        f"TTS voices held out of training {_pct(r.tts_heldout)}; your untouched recording "
        f"{_pct(r.user_heldout)}; augmented copies of "
        f"{'the untouched recording' if r.user_augmented_is_heldout else 'your recordings'} "
        f"{_pct(r.user_augmented)}.",
        *([f"- How the recording figures were obtained: one recording was kept out, the model "
           f"trained without it was measured on it (at that model's own threshold, "
           f"{float(m.data_stats.get('fold_threshold', 0)):.4f}), and then training continued "
           f"with every recording, so the shipped model has learnt from all of them."]
          if r.user_heldout_is_fold else []),
    ]
    if mt.calibration is not None:
        c = mt.calibration
        lines.append(
            f"- In-sample calibration figure: {c.fa_per_hour} false wakes per hour on the "
            f"{c.hours:.2f} h of calibration audio, the audio that chose the threshold for a "
            f"target of {m.target_fa_per_hour} per hour (at most the target by construction; "
            "the held-out figure above is the one to expect).")
    if mt.heldout is not None and mt.heldout.by_kind:
        lines += ["", "## False wakes per kind of held-out audio", "",
                  "| audio | hours | events | FA/h |", "|---|---:|---:|---:|"]
        lines += [_fa_line(KIND_WORDS.get(k, k), fa) for k, fa in mt.heldout.by_kind.items()]
        if mt.heldout.sources:
            lines += ["", "Held-out sources: " + ", ".join(f"`{s}`" for s in
                                                           mt.heldout.sources)]
    if mt.accuracy is not None:
        lines += ["", f"Validation at 0.5 (held-out voices and recording against validation "
                      f"audio): accuracy {mt.accuracy}, precision {mt.precision}, recall "
                      f"{mt.recall}, F1 {mt.f1_score}."]
    lines += ["", "## Data", ""]
    for key, value in m.data_stats.items():
        if key not in ("recording_reports", "hard_negative_phrases"):
            lines.append(f"- {key}: {value}")
    phrases = m.data_stats.get("hard_negative_phrases") or []
    if phrases:
        lines += ["", "Hard negative phrases: " + ", ".join(f"`{p}`" for p in phrases[:40])]
    if m.det_curve:
        lines += ["", "## DET points (calibration FA/h, in-sample, vs held-out FRR)", "",
                  "| threshold | FA/h | FRR |", "|---:|---:|---:|"]
        lines += [f"| {p.threshold:.4f} | {p.fa_per_hour:.3f} | {100 * p.frr:.1f}% |"
                  for p in m.det_curve]
    if m.history:
        last = m.history[-1]
        lines += ["", "## Training", "",
                  f"{len(m.history)} epochs; last: train loss {last.get('train_loss')}, "
                  f"validation loss {last.get('val_loss')}, F1 {last.get('val_f1')}."]
    if m.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in m.notes]
    lines += ["", "## Files", "",
              f"- `{m.id}.onnx`: openWakeWord-compatible head, input `[1,16,96]`; first output "
              "`score` `[1,1]` calibrated (see below), second output `raw_score` on the raw "
              "scale",
              f"- `{m.id}.tflite`: the same head for TFLite runtimes (Home Assistant's "
              "openWakeWord / pyopen-wakeword), input `[1,16,96]`, output `[1,1]` calibrated",
              f"- `{m.id}.pt`: PyTorch state dict (`torch.load(path, weights_only=True)`), raw "
              "scale",
              f"- `{m.id}.json`: this metadata", "",
              "## Score scales", "",
              f"WakeBuilder (this report, the JSON, the API and the UI) uses the **raw** scale: "
              f"the threshold is {m.threshold:.4f}. Third-party runtimes get a **calibrated** "
              f"score: the `.tflite` output and the `.onnx` first output are "
              f"`sigmoid(logit(raw) - logit({m.threshold:.4f}))`, so **0.5** there is this "
              "model's threshold and gives the false-accept rate above. Use threshold 0.5 in "
              "openWakeWord, pyopen-wakeword or wyoming-openwakeword.", ""]
    if m.detector.smoothing_frames > 1:
        lines[-1:] = [f"WakeBuilder's detector averages {m.detector.smoothing_frames} frame "
                      "scores before the threshold; other runtimes score single frames, so "
                      "their false-accept rate at 0.5 can be higher.", ""]
    return "\n".join(lines)
