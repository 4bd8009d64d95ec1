"""Turning clips into training windows: placement in a stream, augmentation, features.

A training example is a 26-frame (2.08 s) stream whose clip ends 100-400 ms before the
stream's end; the embeddings of its last 17 frames give two 16-frame windows, in both of which
the clip ended 20-400 ms before the window's end. Streams are computed with exactly the
streaming chunking of the runtime (one mel call per 80 ms frame).
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wakebuilder.audio.format import FRAME_SAMPLES, SAMPLE_RATE, Samples
from wakebuilder.augment.background_noise import AddBackground
from wakebuilder.augment.bank import BackgroundBank
from wakebuilder.augment.chain import AugmentChain, place_in_window
from wakebuilder.augment.codec import Codec
from wakebuilder.augment.filters import MicResponse
from wakebuilder.augment.gain import GainDb
from wakebuilder.augment.pitch import PitchShift
from wakebuilder.augment.reverb import Reverb
from wakebuilder.augment.speed import SpeedPerturb
from wakebuilder.augment.vocal_tract import VocalTractWarp
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import frame_scores
from wakebuilder.detection.evaluate import smoothed_scores
from wakebuilder.errors import CancelledError
from wakebuilder.features.frontend import WINDOW_FRAMES, FeatureFrontend

STREAM_FRAMES = 26
STREAM_SAMPLES = STREAM_FRAMES * FRAME_SAMPLES
WINDOWS_PER_STREAM = 2
MIN_END_OFFSET_S, MAX_END_OFFSET_S = 0.10, 0.40
NOISE_FLOOR_DB = (-75.0, -50.0)

Windows = npt.NDArray[np.float32]


@dataclass
class Augmenters:
    """Speaker transforms (on the clip) and channel transforms (on the whole stream)."""

    speaker: AugmentChain
    channel: AugmentChain
    bank: BackgroundBank

    @classmethod
    def default(cls, bank: BackgroundBank, *, min_snr_db: float = 0.0,
                max_snr_db: float = 20.0) -> Augmenters:
        speaker = AugmentChain([
            SpeedPerturb(min_factor=0.85, max_factor=1.15, p=0.6),
            PitchShift(min_semitones=-3.0, max_semitones=3.0, p=0.5),
            VocalTractWarp(min_factor=0.85, max_factor=1.15, p=0.6),
        ])
        channel = AugmentChain([
            Reverb(min_rt60_s=0.1, max_rt60_s=0.9, min_drr_db=0.0, max_drr_db=15.0, p=0.4),
            AddBackground(bank, min_snr_db=min_snr_db, max_snr_db=max_snr_db, p=0.75),
            MicResponse(p=0.5),
            Codec(p=0.1),
            GainDb(min_gain_db=-18.0, max_gain_db=6.0, p=1.0),
        ])
        return cls(speaker, channel, bank)


def noise_floor(n: int, bank: BackgroundBank, rng: np.random.Generator) -> Samples:
    """A quiet background (-75 to -50 dBFS) so no stream holds digital silence."""
    bg = bank.sample(n, rng)
    rms = float(np.sqrt(np.mean(bg.astype(np.float64) ** 2))) or 1.0
    level = 10 ** (rng.uniform(*NOISE_FLOOR_DB) / 20)
    return (bg * np.float32(level / rms)).astype(np.float32)


def make_stream(clip: Samples, rng: np.random.Generator, aug: Augmenters | None, *,
                clean: bool = False) -> Samples:
    """One 26-frame stream with ``clip`` ending 100-400 ms before its end."""
    if aug is not None and not clean:
        clip = aug.speaker(clip, rng)
    offset = int(rng.uniform(MIN_END_OFFSET_S, MAX_END_OFFSET_S) * SAMPLE_RATE)
    bed = noise_floor(STREAM_SAMPLES, aug.bank, rng) if aug is not None else None
    stream = place_in_window(clip, window_samples=STREAM_SAMPLES, end_offset_samples=offset,
                             rng=rng, background=bed)
    if aug is not None and not clean:
        stream = aug.channel(stream, rng)
    return stream


def stream_windows(frontend: FeatureFrontend, streams: Sequence[Samples],
                   n_windows: int = WINDOWS_PER_STREAM) -> Windows:
    """``(len(streams) * n_windows, 16, 96)`` windows ending at each stream's last frames."""
    last = WINDOW_FRAMES + n_windows - 1
    emb = np.stack(frontend.embed_mels([frontend.mel_span(s, last=last) for s in streams]))
    out = [emb[:, k:k + WINDOW_FRAMES] for k in range(n_windows)]
    return np.stack(out, axis=1).reshape(-1, WINDOW_FRAMES, emb.shape[-1]).astype(np.float32)


def windows_from_clips(frontend: FeatureFrontend, clips: Sequence[Samples], n_streams: int,
                       rng: np.random.Generator, aug: Augmenters | None, *,
                       clean: bool = False, batch: int = 64,
                       should_cancel: Callable[[], bool] | None = None,
                       progress: Callable[[int], None] | None = None) -> Windows:
    """``n_streams`` augmented streams drawn round-robin from ``clips``, as windows.

    The features of one batch are computed on a helper thread (whose embedding runs on the
    front end's threads) while this thread augments the next batch, so augmentation no longer
    waits for the embedding and the other way round. ``rng`` is only drawn from here, in the
    same order as without the overlap: the windows are the same bit for bit."""
    if not clips or n_streams <= 0:
        return np.zeros((0, WINDOW_FRAMES, 96), np.float32)
    order = np.resize(rng.permutation(len(clips)), n_streams)
    parts: list[Windows] = []
    pending: tuple[cf.Future[Windows], int] | None = None  # a batch's features, streams done

    def collect() -> None:
        future, done = pending  # type: ignore[misc]
        parts.append(future.result())
        if progress is not None:
            progress(done)

    with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="features") as pool:
        for start in range(0, n_streams, batch):
            if should_cancel is not None and should_cancel():
                raise CancelledError("training was cancelled")
            streams = [make_stream(clips[i], rng, aug, clean=clean)
                       for i in order[start:start + batch]]
            if pending is not None:
                collect()
            pending = (pool.submit(stream_windows, frontend, streams),
                       min(start + batch, n_streams))
        if pending is not None:
            collect()
    return np.concatenate(parts)


def user_clip_negatives(clips: Sequence[Samples], rng: np.random.Generator) -> list[Samples]:
    """Natural-voice negatives from the user's own clips: halves, and time-reversed clips."""
    out: list[Samples] = []
    for clip in clips:
        n = len(clip)
        for frac in (0.35, 0.5):
            cut = int(n * (frac + rng.uniform(-0.05, 0.05)))
            out.append(clip[:cut].copy())
            out.append(clip[n - cut:].copy())
        out.append(clip[::-1].copy())
    return [c for c in out if len(c) > SAMPLE_RATE // 10]


def peak_scores(frontend: FeatureFrontend, score_windows: Callable[[Windows], np.ndarray],
                clips: Sequence[Samples], rng: np.random.Generator, aug: Augmenters | None,
                *, det: DetectorConfig, lead_s: float = 1.6, tail_s: float = 0.8,
                clean: bool = True) -> npt.NDArray[np.float64]:
    """Peak detector score of each clip played inside a stream, as the detector would see it.

    Each clip gets ``lead_s`` of background before and ``tail_s`` after; the peak is the
    highest smoothed score after the warm-up (``det``'s semantics), so the clip is detected
    at threshold t exactly when its peak is at least t.
    """
    peaks = []
    for clip in clips:
        c = clip if (clean or aug is None) else aug.speaker(clip, rng)
        n = int((lead_s + tail_s) * SAMPLE_RATE) + len(c)
        n += (-n) % FRAME_SAMPLES
        bed = (noise_floor(n, aug.bank, rng) if aug is not None
               else np.zeros(n, np.float32))
        start = int(lead_s * SAMPLE_RATE)
        stream = bed.copy()
        stream[start:start + len(c)] += c
        if aug is not None and not clean:
            stream = aug.channel(stream, rng)
        smoothed = smoothed_scores(frame_scores(frontend.embed_stream(stream), score_windows),
                                   det)
        peaks.append(float(np.max(smoothed, initial=0.0)))
    return np.asarray(peaks)
