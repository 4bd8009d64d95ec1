"""Average development-benchmark models of one word trained with other seeds (post hoc).

Each model of the ``dev_benchmark.py --out`` folders scores the benchmark's own streams once
(the same held-out clips, 10 dB mixtures and negative audio, from each folder's evaluation
cache); then, per word, every combination of its models is scored as one detector whose frame
score is the mean of theirs (as ``AveragedHeads`` averages the heads of one model), and FRR at
0.1 / 0.5 / 1 FA/h is measured. A combination of one model is that model's benchmark row.

It answers whether the spread between training seeds is noise that averaging removes (the
averaged models meet targets the single ones miss) or a bias every seed shares; the clips
every single model misses at 0.5 FA/h are listed with their peak scores.

    python benchmarks/seed_average_study.py OUT [OUT ...] --data-dir data
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dev_benchmark as db  # noqa: E402

from wakebuilder.detection.config import DetectorConfig  # noqa: E402
from wakebuilder.detection.evaluate import choose_threshold, frr, smoothed_scores  # noqa: E402
from wakebuilder.detection.model import WakeModel  # noqa: E402
from wakebuilder.modelstore.manifest import ModelManifest  # noqa: E402

Scores = list[np.ndarray]


def model_scores(out: Path, result: dict[str, object], neg: dict[str, Scores], *,
                 backgrounds: Scores, seed: int, enrol: int
                 ) -> tuple[Scores, Scores, Scores, DetectorConfig]:
    """Raw frame scores of one benchmark model: negative streams, clean and 10 dB positives."""
    word = str(result["word"])
    _, heldout = db.enrolment_split(word, seed, enrol)
    mdir = out / "models" / str(result["model_id"])
    manifest = ModelManifest.model_validate_json((mdir / f"{mdir.name}.json").read_text())
    model = WakeModel(mdir / f"{mdir.name}.onnx")
    negs = [db.stream_scores(model, e) for name, streams in neg.items()
            if name != db.WORDS[word].name for e in streams]
    clean = db.positive_stream_scores(model, heldout, backgrounds=None, seed=1)
    noisy = db.positive_stream_scores(model, heldout, backgrounds=backgrounds, seed=2)
    return negs, clean, noisy, manifest.detector


def mean_streams(members: list[Scores]) -> Scores:
    """Frame by frame mean of several models' scores of the same streams."""
    return [np.mean(np.stack(group), axis=0) for group in zip(*members, strict=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outs", nargs="+", type=Path, help="dev_benchmark.py --out folders")
    ap.add_argument("--data-dir", type=Path, default=db.REPO / "data")
    ap.add_argument("--seed", type=int, default=0, help="the benchmark's enrolment seed")
    ap.add_argument("--enrol", type=int, default=3)
    args = ap.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)

    backgrounds = db.noise_backgrounds()
    scored: dict[str, dict[int, tuple[Scores, Scores, Scores, DetectorConfig]]] = {}
    for out in args.outs:
        neg = db.eval_negatives(args.data_dir, out)
        for r in json.loads((out / "dev_benchmark.json").read_text())["results"]:
            scored.setdefault(str(r["word"]), {})[int(r["train_seed"])] = model_scores(
                out, r, neg, backgrounds=backgrounds, seed=args.seed, enrol=args.enrol)
            print(f"scored {r['word']} seed {r['train_seed']} ({out.name})", flush=True)

    rows = []
    missed: dict[str, list[dict[int, float]]] = {}
    for word, models in scored.items():
        seeds = sorted(models)
        for n in range(1, len(seeds) + 1):
            for combo in itertools.combinations(seeds, n):
                det = models[combo[0]][3]
                negs, clean, noisy = (
                    [smoothed_scores(s, det) for s in mean_streams([models[k][i] for k in combo])]
                    for i in range(3))
                pc = np.array([float(np.max(s)) for s in clean])
                pn = np.array([float(np.max(s)) for s in noisy])
                if n == 1:  # the clips this model misses at 0.5 FA/h, with their peaks
                    t = choose_threshold(negs, 0.5, det)
                    missed.setdefault(word, []).append({int(i): float(pc[i])
                                                        for i in np.flatnonzero(pc < t)})
                row: dict[str, object] = {"word": word, "seeds": list(combo)}
                for target in db.TARGETS:
                    t = choose_threshold(negs, target, det)
                    row[f"frr_clean@{target}"] = round(frr(pc, t), 4)
                    row[f"frr_noisy@{target}"] = round(frr(pn, t), 4)
                rows.append(row)
                print(json.dumps(row), flush=True)

    print(f"\ncommand: {command}\n")
    print("| word | seeds averaged | FRR clean @0.1/0.5/1 FA/h | FRR 10 dB @0.1/0.5/1 |")
    print("|---|---|---|---|")
    for row in rows:
        c = "/".join(f"{100 * float(row[f'frr_clean@{t}']):.1f}" for t in db.TARGETS)
        n = "/".join(f"{100 * float(row[f'frr_noisy@{t}']):.1f}" for t in db.TARGETS)
        seeds_txt = " + ".join(map(str, row["seeds"]))  # type: ignore[call-overload]
        print(f"| {row['word']} | {seeds_txt} | {c} | {n} |")
    print("\nHeld-out clips every single model misses at 0.5 FA/h (clean), with each model's "
          "peak score:")
    for word, per_model in missed.items():
        common = sorted(set.intersection(*(set(m) for m in per_model)),
                        key=lambda i: np.mean([m[i] for m in per_model]))
        _, heldout = db.enrolment_split(word, args.seed, args.enrol)
        print(f"- {word}: {len(common)} clips (each model misses "
              f"{', '.join(str(len(m)) for m in per_model)})")
        for i in common:
            print(f"  {heldout[i].name} " + " ".join(f"{m[i]:.3f}" for m in per_model))


if __name__ == "__main__":
    main()
