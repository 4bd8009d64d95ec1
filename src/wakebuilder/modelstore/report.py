"""A human-readable model report (Markdown) written next to every model."""

from __future__ import annotations

from wakebuilder.modelstore.manifest import ModelManifest


def describe_fa_rate(fa_per_hour: float | None) -> str:
    """Plain words for a false-accept rate ("about 1 false wake every 2 hours")."""
    if fa_per_hour is None:
        return "unknown (no calibration audio)"
    if fa_per_hour <= 0:
        return "no false wakes in the calibration audio"
    hours = 1.0 / fa_per_hour
    if hours >= 1:
        return f"about 1 false wake every {hours:.0f} hours"
    return f"about {fa_per_hour:.0f} false wakes per hour"


def _pct(value: object) -> str:
    return f"{100 * float(value):.1f}%" if isinstance(value, int | float) else "n/a"


def render_report(m: ModelManifest) -> str:
    """Markdown summary: calibration, held-out FRR, data, DET points and training history."""
    mt = m.metrics
    lines = [
        f"# Wake word model `{m.id}`: \"{m.wake_word}\"", "",
        f"Created {m.created_at}. Threshold **{m.threshold:.4f}**, chosen on "
        f"{mt.get('calibration_hours', 0)} h of held-out calibration audio for a target of "
        f"{m.target_fa_per_hour} false accepts per hour.", "",
        "## What to expect", "",
        f"- False accepts: {mt.get('fa_per_hour')} per hour on the calibration audio "
        f"({describe_fa_rate(mt.get('fa_per_hour'))}).",
        f"- False rejects on held-out positives: {_pct(mt.get('frr'))} overall; "
        f"held-out TTS voices {_pct(mt.get('frr_tts_heldout'))}; untouched user recording "
        f"{_pct(mt.get('frr_user_heldout'))}; augmented user recordings "
        f"{_pct(mt.get('frr_user_augmented'))}.",
        "", "## Data", "",
    ]
    for key, value in m.data_stats.items():
        if key not in ("recording_reports", "hard_negative_phrases"):
            lines.append(f"- {key}: {value}")
    phrases = m.data_stats.get("hard_negative_phrases") or []
    if phrases:
        lines += ["", "Hard negative phrases: " + ", ".join(f"`{p}`" for p in phrases[:40])]
    if m.det_curve:
        lines += ["", "## DET points (calibration FA/h vs held-out FRR)", "",
                  "| threshold | FA/h | FRR |", "|---:|---:|---:|"]
        lines += [f"| {p.threshold:.4f} | {p.fa_per_hour:.3f} | {_pct(p.frr)} |"
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
