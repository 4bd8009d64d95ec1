"""Turning audio into stored embedding streams: bounded-memory decoding, padding, workers.

A file is read in segments of at most :data:`SEGMENT_SECONDS`; each segment becomes its own
stream, so memory stays bounded whatever the file's length. The real front end
(:class:`QuietFrontEnd`) plays every stream as the live detector hears a sentence in a quiet
room: a faint noise floor before it (long enough for the front end's buffers to fill and for
the detector's warm-up to end before the audio starts) and a short one after it, so every
window that holds any of the audio is scored with real context. Without it, a 2 s voice line
embedded from reset had its first frames computed over an empty mel buffer and lost most of
its windows to the warm-up. Other embedders (cheap stand-ins in tests) get the audio as it
is, padded with silence to one window when shorter.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from wakebuilder.audio.format import FRAME_SAMPLES, SAMPLE_RATE, Samples
from wakebuilder.audio.io import decode_audio, resample
from wakebuilder.detection.config import WARMUP_FRAMES
from wakebuilder.errors import InvalidAudioError
from wakebuilder.features.frontend import (
    EMBEDDING_DIM,
    WINDOW_FRAMES,
    FeatureFrontend,
    get_frontend,
    windows_in,
)

SEGMENT_SECONDS = 300.0
"""Longest piece of audio embedded as one stream."""
CONTEXT_FRAMES = 10
"""Frames of quiet embedded before each stream and dropped: the embedding of a frame needs
76 mel frames (9.5 frames of audio) of history, which a reset front end fills with ones."""
LEAD_FRAMES = WARMUP_FRAMES
"""Frames of quiet kept at the start of each stream: the detector's warm-up, so the first
scored frame is the first one holding the audio."""
TAIL_FRAMES = 6
"""Frames of quiet after the audio (0.48 s, a pause), still seen by the windows that end
there."""
QUIET_LEVEL = 3e-4
"""Standard deviation of the noise floor (no microphone records digital silence)."""
MIN_STREAM_SAMPLES = (WINDOW_FRAMES + 1) * FRAME_SAMPLES
"""Other embedders: shorter audio is padded with silence to this length."""
TRAIL_PAD_SAMPLES = 3_200

Embedder = Callable[[Samples], npt.NDArray[np.float32]]
Segment = tuple[float, npt.NDArray[np.float16]]
"""(seconds of source audio, embeddings as float16 ``(frames, 96)``)."""


@dataclass
class FileResult:
    """What embedding one file produced: its segments, or why it failed."""

    segments: list[Segment] = field(default_factory=list)
    error: str | None = None


STREAM_FORMAT = "q1"
"""How files are turned into streams (``q1``: between quiet, :func:`in_quiet`). Part of every
file's fingerprint, so a store embedded another way is re-embedded by the next build."""


def fingerprint(path: Path) -> str:
    """Cheap change detector: the stream format, size and modification time in ns."""
    st = path.stat()
    return f"{STREAM_FORMAT}:{st.st_size}:{st.st_mtime_ns}"


class QuietFrontEnd:
    """The real openWakeWord front end, each stream between quiet (:func:`in_quiet`); returns
    :func:`stored_frames` embeddings, the first :data:`LEAD_FRAMES` of them quiet."""

    def __init__(self, threads: int = 1) -> None:
        self.frontend = get_frontend(threads)

    def __call__(self, samples: Samples) -> npt.NDArray[np.float32]:
        return self.frontend.embed_mel(quiet_mel(self.frontend, samples))


def quiet_mel(frontend: FeatureFrontend, samples: Samples) -> npt.NDArray[np.float32]:
    """The mel frames spanned by the stored windows of ``samples`` played between quiet."""
    return frontend.mel_span(in_quiet(samples), last=stored_frames(len(samples)))


def default_embedder(threads: int = 1) -> Embedder:
    """The real openWakeWord streaming front end, streams between quiet."""
    return QuietFrontEnd(threads)


def pad_short(samples: Samples) -> Samples:
    """Pad audio shorter than :data:`MIN_STREAM_SAMPLES` with silence (other embedders)."""
    missing = MIN_STREAM_SAMPLES - len(samples)
    if missing <= 0:
        return samples
    trail = min(missing, TRAIL_PAD_SAMPLES)
    floor = np.random.default_rng(missing).normal(0, QUIET_LEVEL, missing).astype(np.float32)
    return np.concatenate([floor[:missing - trail], samples, floor[missing - trail:]]
                          ).astype(np.float32)


_QUIET = np.random.default_rng(0).normal(
    0, QUIET_LEVEL, (CONTEXT_FRAMES + LEAD_FRAMES + TAIL_FRAMES) * FRAME_SAMPLES
).astype(np.float32)


def in_quiet(samples: Samples) -> Samples:
    """The audio between a fixed noise floor: :data:`CONTEXT_FRAMES` + :data:`LEAD_FRAMES`
    frames before it (the audio starts on a frame boundary), :data:`TAIL_FRAMES` after."""
    lead = (CONTEXT_FRAMES + LEAD_FRAMES) * FRAME_SAMPLES
    return np.concatenate([_QUIET[:lead], np.asarray(samples, np.float32), _QUIET[lead:]])


def stored_frames(samples: int) -> int:
    """How many embedding frames a stream of ``samples`` audio samples stores."""
    return LEAD_FRAMES + (samples + TAIL_FRAMES * FRAME_SAMPLES) // FRAME_SAMPLES


def split_samples(samples: Samples) -> Iterator[Samples]:
    """Pieces of at most :data:`SEGMENT_SECONDS` of an in-memory signal."""
    step = int(SEGMENT_SECONDS * SAMPLE_RATE)
    for start in range(0, max(len(samples), 1), step):
        yield samples[start:start + step]


def embed_samples(samples: Samples, embed: Embedder) -> list[Segment]:
    """Embed a signal as one stream per segment."""
    out: list[Segment] = []
    for piece in split_samples(np.asarray(samples, np.float32)):
        audio = piece if isinstance(embed, QuietFrontEnd) else pad_short(piece)
        emb = np.asarray(embed(audio), np.float32).reshape(-1, EMBEDDING_DIM)
        out.append((len(piece) / SAMPLE_RATE, emb.astype(np.float16)))
    return out


def _soundfile_segments(path: Path) -> Iterator[Samples]:
    """Read a libsndfile-readable file segment by segment (raises on unreadable files)."""
    with sf.SoundFile(str(path)) as fh:
        rate = fh.samplerate
        block = max(1, int(SEGMENT_SECONDS * rate))
        while True:
            data = fh.read(block, dtype="float32", always_2d=True)
            if len(data) == 0:
                break
            mono = np.nan_to_num(data.mean(axis=1)).astype(np.float32)
            yield resample(mono, rate)


def read_segments(path: Path) -> Iterator[Samples]:
    """Decoded 16 kHz segments of a file; raises :class:`InvalidAudioError` when it can't."""
    try:
        first = True
        for seg in _soundfile_segments(path):
            first = False
            yield seg
        if first:
            raise InvalidAudioError(path.name, "empty", f"{path.name}: contains no audio")
        return
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        if not first:
            raise InvalidAudioError(path.name, "undecodable",
                                    f"{path.name}: decoding failed midway ({exc})") from exc
    # Formats libsndfile cannot read (WebM/Opus, ...) go through FFmpeg, whole (max 600 s).
    yield from split_samples(decode_audio(path))


def embed_file(path: Path, embed: Embedder) -> FileResult:
    """Embed every segment of one file; decoding problems become ``FileResult.error``."""
    result = FileResult()
    try:
        for seg in read_segments(path):
            result.segments.extend(embed_samples(seg, embed))
    except InvalidAudioError as exc:
        return FileResult(error=f"{exc.details.get('reason', 'invalid')}: {exc.message}")
    except OSError as exc:
        return FileResult(error=f"unreadable: {exc}")
    return result


_worker_embed: Embedder | None = None
BATCH_FILES = 48
GROUP_WINDOWS = 16_384
"""A group of files stops growing at this many embedding windows (their mel frames: about
17 MB), so a group of long music pieces holds a bounded amount of audio at once."""


def _mel_of_file(frontend: FeatureFrontend, path: Path
                 ) -> tuple[FileResult, list[np.ndarray], list[tuple[float, int]]]:
    """A file's mel frames per piece (each the run of its windows, see
    :meth:`FeatureFrontend.mel_span`), or the decoding error (and no frames)."""
    windows: list[np.ndarray] = []
    pieces: list[tuple[float, int]] = []
    try:
        for seg in read_segments(path):
            for piece in split_samples(seg):
                mel = quiet_mel(frontend, piece)
                windows.append(mel)
                pieces.append((len(piece) / SAMPLE_RATE, windows_in(len(mel))))
    except InvalidAudioError as exc:
        return (FileResult(error=f"{exc.details.get('reason', 'invalid')}: {exc.message}"),
                [], [])
    except OSError as exc:
        return FileResult(error=f"unreadable: {exc}"), [], []
    return FileResult(), windows, pieces


def _run_batched(paths: Sequence[Path], should_stop: Callable[[], bool]
                 ) -> Iterator[tuple[int, FileResult]]:
    """The real front end with one embedding call per group of files (much faster on the many
    short clips of a speech corpus than one call per file). Results equal :func:`embed_file`.

    The embedding of a group runs on two threads (see :class:`FeatureFrontend`) while this
    thread decodes the next group and computes its mel windows, so both cores stay busy."""
    frontend = get_frontend(2)
    Group = list[tuple[int, FileResult, list[tuple[float, int]]]]

    def results(group: Group, emb: np.ndarray) -> Iterator[tuple[int, FileResult]]:
        at = 0
        for i, result, pieces in group:
            for secs, n in pieces:
                result.segments.append((secs, emb[at:at + n].astype(np.float16)))
                at += n
            yield i, result

    def embed(mels: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(frontend.embed_mels(mels)) if mels else \
            np.zeros((0, EMBEDDING_DIM), np.float32)

    nxt = 0
    with cf.ThreadPoolExecutor(1, thread_name_prefix="wakebuilder-group") as runner:
        pending: tuple[Group, cf.Future[np.ndarray]] | None = None
        while nxt < len(paths) or pending is not None:
            if should_stop():  # nothing of an unfinished group was yielded: dropping is clean
                return
            group: Group = []
            windows: list[np.ndarray] = []
            n_windows = 0
            while (nxt < len(paths) and len(group) < BATCH_FILES
                   and (not group or n_windows < GROUP_WINDOWS)):
                if should_stop():
                    return
                result, mels, pieces = _mel_of_file(frontend, paths[nxt])
                windows.extend(mels)
                n_windows += sum(n for _, n in pieces)
                group.append((nxt, result, pieces))
                nxt += 1
            submitted = (group, runner.submit(embed, windows)) if group else None
            del windows
            if pending is not None:
                yield from results(pending[0], pending[1].result())
            pending = submitted


def _init_worker(embedder: Embedder | None) -> None:
    global _worker_embed
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _worker_embed = embedder if embedder is not None else default_embedder()


def _work(path: str) -> FileResult:
    assert _worker_embed is not None
    return embed_file(Path(path), _worker_embed)


def run_files(paths: Sequence[Path], *, embedder: Embedder | None, max_workers: int,
              should_stop: Callable[[], bool]) -> Iterator[tuple[int, FileResult]]:
    """Yield ``(index, result)`` in input order; a pool of processes when ``max_workers > 1``.

    Results are returned to the caller (the parent process), which alone writes the store.
    At most ``2 * max_workers`` files are in flight, so memory stays bounded.
    """
    if max_workers <= 1 and embedder is None:
        yield from _run_batched(paths, should_stop)
        return
    if max_workers <= 1:
        for i, path in enumerate(paths):
            if should_stop():
                return
            yield i, embed_file(path, embedder)  # type: ignore[arg-type]
        return
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers, mp_context=ctx, initializer=_init_worker,
                                initargs=(embedder,)) as pool:
        pending: deque[tuple[int, cf.Future[FileResult]]] = deque()
        nxt = 0
        try:
            while pending or nxt < len(paths):
                while nxt < len(paths) and len(pending) < 2 * max_workers:
                    pending.append((nxt, pool.submit(_work, str(paths[nxt]))))
                    nxt += 1
                i, fut = pending.popleft()
                yield i, fut.result()
                if should_stop():
                    return
        finally:
            for _, fut in pending:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
