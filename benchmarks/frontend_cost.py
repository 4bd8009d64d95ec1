"""Cost of the openWakeWord front end on this machine: mel and embedding per 80 ms frame.

Measures (wall and CPU milliseconds per frame):
- the mel model called once per streaming frame (1760 samples, as the runtime does);
- the embedding model alone, for thread counts and batch sizes, window by window (the live
  detector's layout) and as sliding passes over runs of mel frames (training data and the
  negative store), with the outputs per pass;
- the whole front end (``embed_stream``) over many clips: one process with 1 or 2 threads,
  against two processes with one thread each;
- a training job's feature extraction (``stream_windows`` of 26-frame streams), window by
  window (the layout until the sliding pass) and as it runs now.

    python benchmarks/frontend_cost.py [--seconds 120] [--clips 60] [--streams 512]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import shlex
import sys
import time

import numpy as np

from wakebuilder.audio.format import FRAME_SAMPLES, SAMPLE_RATE
from wakebuilder.features import frontend as frontend_module
from wakebuilder.features.frontend import (
    MEL_CONTEXT_SAMPLES,
    FeatureFrontend,
    _session,
    model_paths,
)


def speechlike(seconds: float, seed: int) -> np.ndarray:
    """Noise whose loudness changes every frame (the mel floor sees varied levels)."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * SAMPLE_RATE) // FRAME_SAMPLES
    gains = np.repeat(10 ** rng.uniform(-3.0, -0.5, frames), FRAME_SAMPLES)
    return np.clip(rng.normal(0, 1, len(gains)) * gains, -1, 1).astype(np.float32)


def timed(fn, frames: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall ms, process-CPU ms) per frame of one call of ``fn``."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return (1000 * (time.perf_counter() - t0) / frames,
            1000 * (time.process_time() - c0) / frames)


def mel_per_frame(fe: FeatureFrontend, x: np.ndarray) -> tuple[float, float]:
    pcm = (x * 32767).astype(np.float32)
    n = len(pcm) // FRAME_SAMPLES

    def run() -> None:
        for k in range(n):
            end = (k + 1) * FRAME_SAMPLES
            fe.melspectrogram(pcm[max(0, end - FRAME_SAMPLES - MEL_CONTEXT_SAMPLES):end])
    return timed(run, n)


def embedding_only(layout: str, batch: int, windows: np.ndarray) -> tuple[float, float]:
    """``layout``: "1 thread", "2 intra-op threads" (one session on two threads) or
    "2 Python threads" (two one-thread runs at once, what :class:`FeatureFrontend` does)."""
    fe = FeatureFrontend(2 if layout == "2 Python threads" else 1, embed_batch=batch)
    if layout == "2 intra-op threads":
        fe._emb = _session(model_paths()[1], 2)
    fe.embed(windows[:batch])  # warm up

    return timed(lambda: fe.embed(windows), len(windows))


def sliding_only(threads: int, outputs: int, mel: np.ndarray, n: int) -> tuple[float, float]:
    """The embedding model as sliding passes of ``outputs`` embeddings over one long run."""
    fe = FeatureFrontend(threads)
    frontend_module.SLIDE_OUTPUTS = outputs
    try:
        fe.embed_mel(mel[:76 + 8 * 63])  # warm up
        return timed(lambda: fe.embed_mel(mel), n)
    finally:
        frontend_module.SLIDE_OUTPUTS = SLIDE_DEFAULT


SLIDE_DEFAULT = frontend_module.SLIDE_OUTPUTS
_clips: list[np.ndarray] = []


def _embed_all(threads: int, clips: list[np.ndarray]) -> int:
    fe = FeatureFrontend(threads)
    return sum(len(fe.embed_stream(c)) for c in clips)


def _pool_part(args: tuple[int, int, int]) -> int:
    threads, part, parts = args
    return _embed_all(threads, _clips[part::parts])


def _init(clips: list[np.ndarray]) -> None:
    global _clips
    os.environ["OMP_NUM_THREADS"] = "1"
    _clips = clips


def whole_front_end(clips: list[np.ndarray], processes: int, threads: int) -> float:
    """Real-time factor (audio seconds per wall second) of ``embed_stream`` over ``clips``."""
    audio_s = sum(len(c) for c in clips) / SAMPLE_RATE
    t0 = time.perf_counter()
    if processes == 1:
        _embed_all(threads, clips)
    else:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(processes, mp_context=ctx, initializer=_init,
                                    initargs=(clips,)) as pool:
            list(pool.map(_pool_part, [(threads, p, processes) for p in range(processes)]))
    return audio_s / (time.perf_counter() - t0)


def training_windows(streams: list[np.ndarray], layout: str) -> tuple[float, float]:
    """(wall ms, CPU ms) per stream of a training job's ``stream_windows`` call."""
    from wakebuilder.training.data import stream_windows

    fe = FeatureFrontend(2)
    if layout.startswith("window by window"):
        def by_window(mels: list[np.ndarray]) -> list[np.ndarray]:
            return [fe.embed(np.stack([m[8 * k:8 * k + 76] for k in range((len(m) - 76) // 8 + 1)]))
                    for m in mels]
        fe.embed_mels = by_window  # type: ignore[method-assign]
    stream_windows(fe, streams[:4])
    return timed(lambda: stream_windows(fe, streams), len(streams))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0,
                    help="audio for the per-frame measurements")
    ap.add_argument("--clips", type=int, default=60, help="5-s clips for the whole front end")
    ap.add_argument("--streams", type=int, default=512,
                    help="26-frame training streams for the training-job measurement")
    args = ap.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print("cpus:", os.cpu_count(), " load average:", os.getloadavg())
    x = speechlike(args.seconds, 0)
    fe = FeatureFrontend(1)
    wall, cpu = mel_per_frame(fe, x)
    print(f"mel, one call per frame (1 thread): {wall:.3f} ms wall, {cpu:.3f} ms CPU per frame")
    windows = fe.mel_windows(x)
    for layout in ("1 thread", "2 intra-op threads", "2 Python threads"):
        for batch in (16, 32, 64, 256, 1024):
            wall, cpu = embedding_only(layout, batch, windows)
            print(f"embedding, {layout}, batch {batch:4d}: {wall:.3f} ms wall, "
                  f"{cpu:.3f} ms CPU per frame")
    mel = fe.mel_span(x)
    for threads in (1, 2):
        for outputs in (64, 256, 1024, 4096):
            wall, cpu = sliding_only(threads, outputs, mel, len(windows))
            print(f"embedding, sliding passes of {outputs:4d} outputs, {threads} Python "
                  f"thread(s): {wall:.3f} ms wall, {cpu:.3f} ms CPU per frame")
    clips = [speechlike(5.0, s) for s in range(args.clips)]
    for processes, threads in ((1, 1), (1, 2), (2, 1)):
        rtf = whole_front_end(clips, processes, threads)
        print(f"embed_stream, {processes} process(es) x {threads} Python thread(s): "
              f"{rtf:.1f}x real time ({1000 * 0.08 / rtf:.3f} ms wall per frame)")
    streams = [speechlike(26 * 0.08, 100 + s) for s in range(args.streams)]
    for layout in ("window by window (2 Python threads, batch 32)",
                   "now (sliding passes, 2 Python threads)"):
        wall, cpu = training_windows(streams, layout)
        print(f"training stream_windows, {layout}: {wall:.2f} ms wall, {cpu:.2f} ms CPU "
              "per 26-frame stream")
    print("load average after:", os.getloadavg())


if __name__ == "__main__":
    main()
