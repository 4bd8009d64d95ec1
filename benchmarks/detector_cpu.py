"""CPU cost of the streaming detector: process-CPU seconds per second of audio, one stream.

Streams dev-data recordings (with pauses) through one ``StreamingDetector`` in 80 ms chunks,
single-threaded, and reports CPU time / audio time (target: under 2% of one core).

    python benchmarks/detector_cpu.py [--model DIR] [--minutes 10]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from wakebuilder.audio.io import decode_audio
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import StreamingDetector
from wakebuilder.detection.model import WakeModel
from wakebuilder.features.frontend import get_frontend

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "dev-data"


def audio(minutes: float) -> np.ndarray:
    files = sorted((DEV / "precise" / "not-wake-words" / "en").glob("*.wav"))
    files += sorted((DEV / "precise" / "computer").glob("*.wav"))
    rng = np.random.default_rng(0)
    parts, total = [], 0
    while total < minutes * 60 * 16000:
        for f in files:
            x = decode_audio(f)
            parts += [x, rng.normal(0, 3e-4, 8000).astype(np.float32)]
            total += len(x) + 8000
    return np.concatenate(parts)[: int(minutes * 60 * 16000)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="model directory (default: a random head)")
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    if args.model is None:
        sys.path.insert(0, str(REPO))
        from tests.helpers import random_model

        args.model = Path(tempfile.mkdtemp()) / "bench"
        random_model(args.model, "bench")
    onnx = next(args.model.glob("*.onnx"))
    model = WakeModel(onnx, name="bench", threads=1)
    det = StreamingDetector(model, DetectorConfig(threshold=0.99), frontend=get_frontend(1))
    x = audio(args.minutes)
    chunk = 1280
    det.process(x[:16000])  # warm up the sessions
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(0, len(x), chunk):
        det.process(x[i:i + chunk])
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    secs = len(x) / 16000
    print("command: python " + " ".join(shlex.quote(a) for a in sys.argv))
    print(f"audio {secs:.0f} s, CPU {cpu:.2f} s, wall {wall:.2f} s")
    print(f"CPU per second of audio: {100 * cpu / secs:.2f}% of one core "
          f"(per 80 ms frame: {1000 * cpu / (secs / 0.08):.3f} ms)")


if __name__ == "__main__":
    main()
