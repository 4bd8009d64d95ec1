"""How long people take to say a wake word, against the TTS engines at a given pace.

For each word, the span of every real clip in ``shared/dev-data`` (from its first to its last
10 ms frame within ``--floor-db`` of its loudest frame) next to the span of ``--clips``
synthesised clips of the word's prosody variants (the engines and weights of the default
recipe), at each ``--duration-scale`` (1.0: the engines' own pace; the recipe's
``tts_duration_scale`` is the default job's).

    python benchmarks/tts_pace.py --words snowboy "view glass" --duration-scale 1.0 1.2
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from wakebuilder.audio.io import decode_audio
from wakebuilder.synthesis.generate import synthesize_many
from wakebuilder.synthesis.phrases import prosody_variants
from wakebuilder.synthesis.registry import load_engines
from wakebuilder.training.config import DataPlan

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "dev-data"
WORDS = {"snowboy": DEV / "picovoice" / "snowboy", "view glass": DEV / "picovoice" / "view_glass",
         "athena": DEV / "precise" / "athena"}


def span_s(samples: np.ndarray, floor_db: float) -> float:
    """Seconds from the first to the last 10 ms frame within ``floor_db`` of the loudest."""
    frames = samples[: samples.size // 160 * 160].reshape(-1, 160)
    energy = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(energy > energy.max() - floor_db)
    return float(loud[-1] - loud[0] + 1) / 100


def summary(name: str, spans: list[float]) -> str:
    p10, p50, p90 = np.percentile(spans, [10, 50, 90])
    return f"| {name} | {len(spans)} | {p10:.2f} | {p50:.2f} | {p90:.2f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", nargs="+", default=["snowboy", "view glass"])
    ap.add_argument("--duration-scale", type=float, nargs="+",
                    default=[1.0, DataPlan().tts_duration_scale])
    ap.add_argument("--clips", type=int, default=300, help="synthesised clips per word and pace")
    ap.add_argument("--floor-db", type=float, default=20.0)
    args = ap.parse_args()
    print("command: python " + " ".join(shlex.quote(a) for a in sys.argv))
    engines = load_engines(None, threads=1)
    weights = {k: v for k, v in DataPlan().engine_weights.items() if k in engines.engines}
    print("\n| audio | clips | span p10 s | median s | p90 s |\n|---|---|---|---|---|")
    for word in args.words:
        real = [span_s(decode_audio(f), args.floor_db) for f in sorted(WORDS[word].glob("*.wav"))]
        print(summary(f"{word}: real clips (dev-data)", real))
        for scale in args.duration_scale:
            res = synthesize_many(prosody_variants(word), engines, args.clips,
                                  np.random.default_rng(0), weights=weights, workers=2,
                                  duration_scale=scale)
            by_engine: dict[str, list[float]] = {}
            for clip in res.clips:
                by_engine.setdefault(clip.engine, []).append(span_s(clip.samples, args.floor_db))
            print(summary(f"{word}: TTS x{scale:g}, all engines",
                          [s for v in by_engine.values() for s in v]))
            for engine, spans in sorted(by_engine.items()):
                print(summary(f"{word}: TTS x{scale:g}, {engine}", spans))


if __name__ == "__main__":
    main()
