"""Where a training job's CPU goes, part by part: one optimiser step of a head, mining the
negative store's training split, and turning clips into feature windows.

    python benchmarks/training_speed.py --data-dir data [--model DIR]

Prints milliseconds per step (forward / backward / optimiser, 1 and 2 torch threads), the
seconds of one mining pass over the store's ``train`` split (with ``--model``: that model's
heads, else two fresh heads) and milliseconds per feature stream, with the augmentation
overlapped with the embedding (the job's way) and one after the other.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from wakebuilder.augment.bank import BackgroundBank  # noqa: E402
from wakebuilder.features.frontend import get_frontend  # noqa: E402
from wakebuilder.layout import DataLayout  # noqa: E402
from wakebuilder.modelstore.export import load_heads  # noqa: E402
from wakebuilder.negstore.source import open_negatives  # noqa: E402
from wakebuilder.training import data as D  # noqa: E402
from wakebuilder.training.config import TrainConfig  # noqa: E402
from wakebuilder.training.ensemble import head_config_of  # noqa: E402
from wakebuilder.training.head import AveragedHeads, WakeHead  # noqa: E402
from wakebuilder.training.loop import loss_fn, predict  # noqa: E402
from wakebuilder.training.mining import mine_top_k  # noqa: E402


def step_ms(threads: int, steps: int = 300) -> tuple[float, float, float]:
    """Forward, backward and optimiser milliseconds of one batch-32 training step."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = TrainConfig()
    model = WakeHead(head_config_of(cfg)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=1e-2,
                            foreach=True)
    x, y, w = torch.randn(32, 16, 96), (torch.rand(32) > 0.8).float(), torch.ones(32)
    t = [0.0, 0.0, 0.0]
    for i in range(steps + 20):
        a = time.perf_counter()
        loss = loss_fn(model.logits(x).squeeze(1), y, w, cfg)
        b = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        c = time.perf_counter()
        opt.step()
        d = time.perf_counter()
        if i >= 20:
            t = [t[0] + b - a, t[1] + c - b, t[2] + d - c]
    return tuple(v / steps * 1e3 for v in t)  # type: ignore[return-value]


def mining_s(data_dir: Path, model_dir: Path | None) -> tuple[float, int, int]:
    """Seconds of one mining pass (4,000 windows, stride 2), streams, frames."""
    torch.set_num_threads(2)
    neg = open_negatives(DataLayout(data_dir), rng=np.random.default_rng(0),
                         exclude_sources=("corpus/bass",))
    if model_dir is not None:
        manifest = json.loads((model_dir / f"{model_dir.name}.json").read_text())
        cfg = {k: v for k, v in manifest["head_config"].items() if k != "n_heads"}
        model = load_heads(model_dir / f"{model_dir.name}.pt", cfg,
                           int(manifest["head_config"].get("n_heads", 2)))
    else:
        torch.manual_seed(0)
        model = AveragedHeads([WakeHead(head_config_of(TrainConfig())) for _ in range(2)]).eval()
    streams = list(neg.split_streams("train"))
    t = time.perf_counter()
    mine_top_k(lambda x: predict(model, x), streams, 4000, stride=2)
    return time.perf_counter() - t, len(streams), sum(len(s) for s in streams)


def features_ms(n: int = 512) -> tuple[float, float]:
    """Milliseconds per stream: overlapped (the job's way), then one after the other."""
    rng = np.random.default_rng(0)
    t = np.arange(20000) / 16000
    clips = [(0.3 * np.sin(2 * np.pi * (150 + 40 * k) * t * (1 + 0.3 * t))
              * np.hanning(len(t))).astype(np.float32) for k in range(8)]
    aug = D.Augmenters.default(BackgroundBank.generated(rng, seconds=8.0))
    fe = get_frontend(2)
    D.windows_from_clips(fe, clips, 64, np.random.default_rng(1), aug)  # warm up
    a = time.perf_counter()
    D.windows_from_clips(fe, clips, n, np.random.default_rng(1), aug)
    overlapped = (time.perf_counter() - a) / n * 1e3
    a = time.perf_counter()
    r = np.random.default_rng(1)
    order = np.resize(r.permutation(len(clips)), n)
    for s in range(0, n, 64):
        D.stream_windows(fe, [D.make_stream(clips[i], r, aug) for i in order[s:s + 64]])
    sequential = (time.perf_counter() - a) / n * 1e3
    return overlapped, sequential


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=REPO / "data")
    ap.add_argument("--model", type=Path, default=None, help="a model directory to mine with")
    args = ap.parse_args()
    print("command:", " ".join(sys.argv))
    for threads in (1, 2):
        f, b, o = step_ms(threads)
        print(f"training step, {threads} thread(s): forward {f:.2f} + backward {b:.2f} + "
              f"optimiser {o:.2f} = {f + b + o:.2f} ms")
    secs, n, frames = mining_s(args.data_dir, args.model)
    print(f"mining the train split ({n} streams, {frames / 45000:.1f} h): {secs:.1f} s")
    over, seq = features_ms()
    print(f"feature streams: overlapped {over:.1f} ms, one after the other {seq:.1f} ms per stream")


if __name__ == "__main__":
    main()
