"""Rescore development-benchmark models with other detector rules (post hoc, no training).

For every model of one or more ``dev_benchmark.py --out`` folders, the benchmark's own streams
(the same held-out clips, seeds, 10 dB mixtures and negative audio, from its evaluation cache)
are scored once, then FRR at 0.1 / 0.5 / 1 FA/h is measured with each rule:

- ``mean k``: WakeBuilder's detector averaging the last k frame scores (``smoothing_frames``;
  ``mean 1`` is the benchmark's own row when the model was trained with smoothing 1);
- ``min k``: k frames in a row at or over the threshold (openWakeWord's ``patience``).

Training never reads the detector settings, so one set of models answers for every rule.

    python benchmarks/smoothing_study.py OUT [OUT ...] --data-dir data --ks 1 2 3 4
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dev_benchmark as db  # noqa: E402

from wakebuilder.detection.evaluate import choose_threshold, frr, smoothed_scores  # noqa: E402
from wakebuilder.detection.model import WakeModel  # noqa: E402
from wakebuilder.modelstore.manifest import ModelManifest  # noqa: E402


def rolling_min(s: np.ndarray, k: int) -> np.ndarray:
    """Min of the last k frames (the first k-1 frames of a stream cannot fire)."""
    out = s.copy()
    for j in range(1, k):
        out[j:] = np.minimum(out[j:], s[:-j])
    out[:k - 1] = -np.inf
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outs", nargs="+", type=Path, help="dev_benchmark.py --out folders")
    ap.add_argument("--data-dir", type=Path, default=db.REPO / "data")
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--seed", type=int, default=0, help="the benchmark's enrolment seed")
    ap.add_argument("--enrol", type=int, default=3)
    args = ap.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)

    backgrounds = db.noise_backgrounds()
    rules: list[tuple[str, int]] = [("mean", k) for k in args.ks]
    rules += [("min", k) for k in args.ks if k > 1]
    rows = []
    for out in args.outs:
        neg = db.eval_negatives(args.data_dir, out)
        for r in json.loads((out / "dev_benchmark.json").read_text())["results"]:
            folder = db.WORDS[r["word"]]
            _, heldout = db.enrolment_split(r["word"], args.seed, args.enrol)
            mdir = out / "models" / r["model_id"]
            manifest = ModelManifest.model_validate_json(
                (mdir / f"{mdir.name}.json").read_text())
            model = WakeModel(mdir / f"{mdir.name}.onnx")
            raw_neg = [db.stream_scores(model, e) for name, streams in neg.items()
                       if name != folder.name for e in streams]
            clean = db.positive_stream_scores(model, heldout, backgrounds=None, seed=1)
            noisy = db.positive_stream_scores(model, heldout, backgrounds=backgrounds, seed=2)
            for mode, k in rules:
                det = manifest.detector.model_copy(
                    update={"smoothing_frames": k if mode == "mean" else 1})
                rule: Callable[[np.ndarray], np.ndarray] = (
                    (lambda s, det=det: smoothed_scores(s, det)) if mode == "mean" else
                    (lambda s, det=det, k=k: rolling_min(smoothed_scores(s, det), k)))
                negs = [rule(s) for s in raw_neg]
                pc = np.array([np.max(rule(s)) for s in clean])
                pn = np.array([np.max(rule(s)) for s in noisy])
                row: dict[str, object] = {"out": out.name, "word": r["word"],
                                          "train_seed": r["train_seed"], "rule": f"{mode} {k}"}
                for target in db.TARGETS:
                    t = choose_threshold(negs, target, det)
                    row[f"frr_clean@{target}"] = round(frr(pc, t), 4)
                    row[f"frr_noisy@{target}"] = round(frr(pn, t), 4)
                rows.append(row)
                print(json.dumps(row), flush=True)

    print(f"\ncommand: {command}\n")
    print("| word | seed | rule | FRR clean @0.1/0.5/1 FA/h | FRR 10 dB @0.1/0.5/1 |")
    print("|---|---|---|---|---|")
    for row in rows:
        c = "/".join(f"{100 * float(row[f'frr_clean@{t}']):.1f}" for t in db.TARGETS)
        n = "/".join(f"{100 * float(row[f'frr_noisy@{t}']):.1f}" for t in db.TARGETS)
        print(f"| {row['word']} | {row['train_seed']} | {row['rule']} | {c} | {n} |")
    print("\nMean FRR at 0.5 FA/h over the models, clean / 10 dB:")
    for mode, k in rules:
        sel = [r for r in rows if r["rule"] == f"{mode} {k}"]
        mc = 100 * np.mean([float(r["frr_clean@0.5"]) for r in sel])
        mn = 100 * np.mean([float(r["frr_noisy@0.5"]) for r in sel])
        print(f"- {mode} {k}: {mc:.2f} / {mn:.2f} % ({len(sel)} models)")


if __name__ == "__main__":
    main()
