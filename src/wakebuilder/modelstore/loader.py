"""The one way to load a stored model for inference: its head (once per process) plus its
detector settings, shared by the REST API, the WebSocket and the Wyoming server."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.model import WakeModel
from wakebuilder.errors import ConflictError
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.store import ModelStore


class ModelCache:
    """A small LRU of :class:`WakeModel` keyed by ONNX path and modification time."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], WakeModel] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, onnx_path: Path, name: str) -> WakeModel:
        key = (str(onnx_path), onnx_path.stat().st_mtime_ns)
        with self._lock:
            model = self._items.get(key)
            if model is not None:
                self._items.move_to_end(key)
                return model
        model = WakeModel(onnx_path, name=name)
        with self._lock:
            self._items[key] = model
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return model

    def open(self, store: ModelStore, model_id: str, threshold: float | None = None
             ) -> tuple[ModelManifest, WakeModel, DetectorConfig]:
        """A stored model, loaded once, with its detector settings (threshold overridden)."""
        manifest = store.get(model_id)
        onnx = store.onnx_path(model_id)
        if not onnx.is_file():
            raise ConflictError(f"Model {model_id!r} has no ONNX file to test",
                                {"model_id": model_id})
        config: DetectorConfig = manifest.detector
        if threshold is not None:
            config = config.model_copy(update={"threshold": threshold})
        return manifest, self.load(onnx, model_id), config
