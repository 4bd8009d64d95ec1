"""Write a trained head as ONNX (openWakeWord-compatible), a plain state dict, and metadata."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wakebuilder.detection.model import WakeModel
from wakebuilder.errors import ExportError
from wakebuilder.features.frontend import EMBEDDING_DIM, WINDOW_FRAMES
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.training.head import AveragedHeads, HeadConfig, WakeHead

PARITY_TOLERANCE = 1e-4


def export_onnx(model: torch.nn.Module, path: Path) -> Path:
    """Export with input ``features [1, 16, 96]`` float32 and output ``score [1, 1]``."""
    model.eval()
    example = torch.randn(1, WINDOW_FRAMES, EMBEDDING_DIM)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), str(path), input_names=["features"],
                              output_names=["score"], opset_version=17, dynamo=False)
    except Exception as exc:  # torch raises many unrelated types here
        raise ExportError(f"ONNX export failed: {exc}") from exc
    return path


def check_parity(model: torch.nn.Module, onnx_path: Path, *, n: int = 64,
                 seed: int = 0) -> float:
    """Max |torch - onnxruntime| on random windows; raises ExportError past the tolerance."""
    x = np.random.default_rng(seed).normal(0, 1, (n, WINDOW_FRAMES, EMBEDDING_DIM))
    x = x.astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy().reshape(-1)
    got = WakeModel(onnx_path).score(x)
    diff = float(np.max(np.abs(ref - got)))
    if diff > PARITY_TOLERANCE:
        raise ExportError(f"ONNX output differs from torch by {diff:.2e}", {"max_diff": diff})
    return diff


def save_state_dict(model: torch.nn.Module, path: Path) -> Path:
    """Save a plain state dict (loads with ``torch.load(weights_only=True)``)."""
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, str(path))
    return path


def load_heads(pt_path: Path, head_config: dict[str, Any], n_heads: int) -> AveragedHeads:
    """Rebuild the exported model from its state dict without unpickling code."""
    cfg = HeadConfig(**head_config)
    model = AveragedHeads([WakeHead(cfg) for _ in range(n_heads)])
    model.load_state_dict(torch.load(str(pt_path), weights_only=True, map_location="cpu"))
    model.eval()
    return model


def write_model_files(model: AveragedHeads, manifest: ModelManifest, directory: Path,
                      report: str) -> ModelManifest:
    """Write ``{id}.onnx``, ``{id}.pt``, ``{id}.json`` and ``report.md`` into ``directory``."""
    mid = manifest.id
    onnx_path = export_onnx(model, directory / f"{mid}.onnx")
    diff = check_parity(model, onnx_path)
    save_state_dict(model, directory / f"{mid}.pt")
    manifest = manifest.model_copy(update={
        "files": {"onnx": f"{mid}.onnx", "pt": f"{mid}.pt", "json": f"{mid}.json",
                  "report": "report.md"},
        "metrics": {**manifest.metrics, "onnx_parity_max_diff": diff},
    })
    (directory / "report.md").write_text(report, encoding="utf-8")
    (directory / f"{mid}.json").write_text(
        json.dumps(manifest.model_dump(mode="json"), indent=2), encoding="utf-8")
    return manifest
