"""General negatives for training: the shared negative feature store, filled from
``data/negative/`` (the real-speech corpus and any audio a user drops there) and from a
generated corpus (TTS sentences in many voices, noise, music) so a fresh machine can train."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.audio.io import decode_audio
from wakebuilder.augment.music import generate_music
from wakebuilder.augment.noise import NOISE_KINDS, generate_noise
from wakebuilder.corpus.local import iter_negative_files, source_of
from wakebuilder.errors import CancelledError, InvalidAudioError
from wakebuilder.features.cache import CALIBRATION, TRAIN, NegativeStore
from wakebuilder.features.frontend import WINDOW_FRAMES
from wakebuilder.synthesis.generate import synthesize_many
from wakebuilder.synthesis.phrases import general_phrases
from wakebuilder.synthesis.registry import load_engines
from wakebuilder.training.pipeline import PipelinePaths

_log = logging.getLogger(__name__)

GENERATED_SOURCE = "generated"
GENERATED_KINDS = ("tts", "noise", "music")
GENERATED_VERSION = 1
TTS_SENTENCES = 320
STREAM_SECONDS = 60.0
NOISE_SECONDS = 40.0
MUSIC_STREAMS = 6

Progress = Callable[[float, str], None]


def store_root(paths: PipelinePaths) -> Any:
    """Directory of the negative feature store."""
    return paths.cache_dir / "negatives"


def _streams_of(clips: list[Samples], rng: np.random.Generator,
                seconds: float) -> list[Samples]:
    """Concatenate clips with 0.2-1.2 s pauses into ~``seconds`` streams over a noise floor."""
    out, cur, length = [], [], 0
    for clip in clips:
        gap = np.zeros(int(rng.uniform(0.2, 1.2) * SAMPLE_RATE), np.float32)
        cur += [clip, gap]
        length += len(clip) + len(gap)
        if length >= seconds * SAMPLE_RATE:
            out.append(np.concatenate(cur))
            cur, length = [], 0
    if cur:
        out.append(np.concatenate(cur))
    floor = [rng.normal(0, 10 ** (rng.uniform(-70, -55) / 20), len(s)).astype(np.float32)
             for s in out]
    return [(s + f).astype(np.float32) for s, f in zip(out, floor, strict=True)]


def add_generated(store: NegativeStore, paths: PipelinePaths, *, seed: int = 1234,
                  progress: Progress | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Add the generated corpus to the store (once; skipped when complete).

    Streams are committed in a fixed order, the last music stream last, so a build cancelled
    midway keeps what it committed and the next call adds only the missing streams. Raises
    :class:`CancelledError` (after committing) when cancelled.
    """
    present = {e.name for e in store.entries() if e.source == GENERATED_SOURCE}
    if f"v{GENERATED_VERSION}/music/{MUSIC_STREAMS - 1}" in present:
        return {"generated": "present"}
    rng = np.random.default_rng(seed)
    engines = load_engines(paths.voices_dir, threads=1)
    report: dict[str, Any] = {"tts_unavailable": dict(engines.unavailable)}
    if progress:
        progress(0.0, "synthesising general speech for negatives")
    texts = general_phrases(rng, TTS_SENTENCES)
    clips: list[Samples] = []
    if engines:
        res = synthesize_many(texts, engines, TTS_SENTENCES, rng, english_only=False,
                              weights={"piper": 0.35, "espeak": 0.5, "flite": 0.15},
                              should_cancel=should_cancel,
                              progress=(lambda d, n: progress(0.6 * d / n, f"TTS {d}/{n}"))
                              if progress else None)
        clips = [c.samples for c in res.clips]
        report["tts_counts"] = res.counts
        report["tts_failures"] = res.failures
    signals: list[tuple[str, str, Samples]] = []
    for i, s in enumerate(_streams_of(clips, rng, STREAM_SECONDS)):
        signals.append((f"v{GENERATED_VERSION}/tts/{i:03d}", "tts", s))
    n = int(NOISE_SECONDS * SAMPLE_RATE)
    for kind in NOISE_KINDS:
        signals.append((f"v{GENERATED_VERSION}/noise/{kind}", "noise",
                        generate_noise(kind, n, rng, speech=clips[:40])))
    for i in range(MUSIC_STREAMS):
        signals.append((f"v{GENERATED_VERSION}/music/{i}", "music", generate_music(n, rng)))
    cancelled = False
    with store.batch():
        for k, (name, kind, samples) in enumerate(signals):
            if should_cancel is not None and should_cancel():
                cancelled = True
                break
            if name in present:  # committed by an earlier, cancelled build
                continue
            # Every fourth stream of each kind is calibration audio.
            split = CALIBRATION if k % 4 == 3 else TRAIN
            store.add_audio(GENERATED_SOURCE, name, samples, kind=kind, split=split)
            if progress:
                progress(0.6 + 0.4 * (k + 1) / len(signals), f"embedded {name}")
    if cancelled:
        raise CancelledError("negative store build cancelled",
                             {"generated_streams": len(signals)})
    report["generated_seconds"] = round(sum(len(s) for _, _, s in signals) / SAMPLE_RATE, 1)
    return report


def build_negative_cache(paths: PipelinePaths, *, max_workers: int = 1,
                         progress: Progress | None = None,
                         should_cancel: Callable[[], bool] | None = None,
                         generated: bool = True) -> dict[str, Any]:
    """Fill the store: the generated corpus (unless ``generated`` is False; training adds it
    when missing), then every file under ``data/negative/``.

    ``max_workers`` is capped at half the CPU count: each worker runs the front end on two
    threads, and on 2 cores one process embedding batches of files is the fastest (measured).
    On cancel, what was committed stays (complete entries only) and CancelledError is raised;
    the next build resumes from it.
    """
    max_workers = max(1, min(max_workers, (os.cpu_count() or 2) // 2))
    store = NegativeStore(store_root(paths))
    gen: dict[str, Any] = {"generated": "skipped"}
    if generated:
        gen = add_generated(store, paths, progress=(lambda f, m: progress(0.2 * f, m))
                            if progress else None, should_cancel=should_cancel)
    root = paths.negative_dir
    files = [(source_of(p, root), p) for p in iter_negative_files(root)]
    report = store.build_from_files(
        files, root=root, prune=True, max_workers=max_workers, should_cancel=should_cancel,
        progress=(lambda d, t, m: progress(0.2 + 0.8 * d / max(t, 1), m)) if progress else None)
    if progress:
        progress(1.0, "negative cache ready")
    return {"generated": gen, "files": report.total, "added": report.added,
            "updated": report.updated, "skipped": report.skipped, "pruned": report.pruned,
            "failed": report.failed[:50], "failed_count": report.failed_count,
            "seconds_added": round(report.seconds_added, 1),
            "elapsed_s": round(report.elapsed_s, 1)}


def cache_info(paths: PipelinePaths) -> dict[str, Any]:
    """The API's cache info (available, chunk_count, size_mb, last_built) plus details."""
    stats = NegativeStore(store_root(paths)).stats()
    pending = len(iter_negative_files(paths.negative_dir))
    return {"available": stats["available"], "chunk_count": int(stats["windows"]),
            "size_mb": round(stats["size_mb"], 2), "last_built": stats["last_built"],
            "entries": stats["entries"], "hours": round(stats["hours"], 3),
            "by_split": stats["by_split"], "by_kind": stats["by_kind"],
            "has_natural_speech": stats["has_natural_speech"],
            "negative_files": pending}


def clear_cache(paths: PipelinePaths) -> None:
    """Remove every stored negative embedding."""
    NegativeStore(store_root(paths)).clear()


@dataclass
class NegativeSource:
    """What a job draws general negatives from."""

    store: NegativeStore
    kinds: tuple[str, ...] | None
    negative_files: list[Any]
    exclude: tuple[str, ...] = ()

    def _hours(self, split: str | None, kinds: Any = None) -> float:
        entries = self.store.entries(split, kinds or self.kinds, exclude_sources=self.exclude)
        return sum(e.seconds for e in entries) / 3600

    @property
    def train_hours(self) -> float:
        return self._hours(TRAIN)

    @property
    def calibration_hours(self) -> float:
        return self._hours(CALIBRATION)

    @property
    def natural_speech_hours(self) -> float:
        if self.kinds is not None and "speech" not in self.kinds:
            return 0.0
        return self._hours(None, "speech")

    def sample_windows(self, n: int, rng: np.random.Generator, *,
                       split: str = TRAIN) -> np.ndarray:
        """``n`` random negative windows of a split."""
        return self.store.sample_windows(n, rng, split=split, kinds=self.kinds,
                                         exclude_sources=self.exclude)

    def calibration_streams(self) -> Iterator[np.ndarray]:
        """Embedding streams of the calibration split."""
        yield from self.split_streams(CALIBRATION)

    def split_streams(self, split: str) -> Iterator[np.ndarray]:
        """Embedding streams (at least one window long) of a split."""
        for entry, emb in self.store.streams(split, self.kinds, self.exclude):
            if entry.frames >= WINDOW_FRAMES:
                yield emb

    def background_audio(self, rng: np.random.Generator, n_files: int = 12,
                         max_seconds: float = 20.0) -> list[Samples]:
        """A few real recordings from ``data/negative`` to mix under training clips."""
        files = list(self.negative_files)
        out: list[Samples] = []
        for i in rng.permutation(len(files))[: n_files * 2]:
            try:
                samples = decode_audio(files[i])
            except InvalidAudioError as exc:
                _log.warning("skipping background %s: %s", files[i], exc.message)
                continue
            if len(samples) >= SAMPLE_RATE // 2:
                out.append(samples[: int(max_seconds * SAMPLE_RATE)])
            if len(out) >= n_files:
                break
        return out


def open_negatives(paths: PipelinePaths, *, rng: np.random.Generator, use_real: bool = True,
                   exclude_sources: tuple[str, ...] = (),
                   progress: Progress | None = None,
                   should_cancel: Callable[[], bool] | None = None,
                   threads: int = 1) -> NegativeSource:
    """Open the store, adding the generated corpus first if it is missing."""
    store = NegativeStore(store_root(paths))
    add_generated(store, paths, progress=progress, should_cancel=should_cancel)
    files = [f for f in iter_negative_files(paths.negative_dir)
             if not any(source_of(f, paths.negative_dir) == x
                        or source_of(f, paths.negative_dir).startswith(x.rstrip("/") + "/")
                        for x in exclude_sources)] if use_real else []
    return NegativeSource(store, None if use_real else GENERATED_KINDS, files,
                          tuple(exclude_sources))
