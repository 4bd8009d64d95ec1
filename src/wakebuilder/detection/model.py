"""A trained head loaded for inference (ONNX through onnxruntime; no torch needed).

Scores are on the raw scale the manifests, API and UI report. Models exported with the in-graph
calibration (see :mod:`wakebuilder.modelstore.calibration`) have two outputs, ``score``
(calibrated, for third-party runtimes) and ``raw_score``; this class reads ``raw_score``.
Older models have only ``score``, which is raw.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from wakebuilder.features.frontend import EMBEDDING_DIM, WINDOW_FRAMES

SCORE_BATCH = 512
RAW_OUTPUT = "raw_score"


INFERENCE_PROVIDERS = ("CPUExecutionProvider",)
"""onnxruntime execution providers of every detection session (heads and the front end's
small models run on the CPU; the API's device endpoint reports this)."""


class WakeModel:
    """Scores 16 x 96 embedding windows with a head exported to ONNX."""

    def __init__(self, onnx_path: str | Path, *, name: str = "wakeword", threads: int = 1) -> None:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.name = name
        self.path = Path(onnx_path)
        self._session = ort.InferenceSession(str(self.path), so,
                                             providers=list(INFERENCE_PROVIDERS))
        inp = self._session.get_inputs()[0]
        self._input = inp.name
        self._batched = not isinstance(inp.shape[0], int) or inp.shape[0] != 1
        names = [o.name for o in self._session.get_outputs()]
        self.output = RAW_OUTPUT if RAW_OUTPUT in names else names[0]
        """The output read: ``raw_score`` when the graph has one, else its only output."""
        self._outputs = [self.output]
        self._lock = threading.Lock()

    def score(self, windows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Raw scores in [0, 1] for windows ``(N, 16, 96)``."""
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        if windows.ndim != 3 or windows.shape[1:] != (WINDOW_FRAMES, EMBEDDING_DIM):
            raise ValueError(f"expected windows of shape (N, {WINDOW_FRAMES}, {EMBEDDING_DIM}),"
                             f" got {windows.shape}")
        if len(windows) == 0:
            return np.zeros(0, np.float32)
        if self._batched:
            outs = [self._session.run(self._outputs,
                                       {self._input: windows[i:i + SCORE_BATCH]})[0]
                    for i in range(0, len(windows), SCORE_BATCH)]
            return np.concatenate(outs).reshape(-1).astype(np.float32)
        return np.array([self._session.run(self._outputs, {self._input: w[None]})[0].item()
                         for w in windows], dtype=np.float32)
