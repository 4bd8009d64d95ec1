"""Write a trained head as ONNX and TFLite (openWakeWord-compatible, calibrated at 0.5), a plain
state dict, and metadata."""

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
from wakebuilder.modelstore.calibration import (
    CalibratedHeads,
    calibrate,
    calibration_record,
    score_scales,
)
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.metrics import ParityDiffs
from wakebuilder.modelstore.tflite import export_tflite
from wakebuilder.modelstore.tflite_reference import TFLiteReference
from wakebuilder.training.head import AveragedHeads, HeadConfig, WakeHead

PARITY_TOLERANCE = 1e-4
TFLITE_TOLERANCE = 1e-5
"""Max |.tflite - .onnx| calibrated score allowed at export."""


def export_onnx(model: torch.nn.Module, path: Path, threshold: float | None = None) -> Path:
    """Export with input ``features [1, 16, 96]`` float32 and output ``score [1, 1]``.

    With ``threshold``, ``score`` is calibrated (0.5 == threshold, see
    :mod:`~wakebuilder.modelstore.calibration`) and a second output ``raw_score`` keeps the
    raw score; without it, ``score`` is the raw score (the layout before calibration).
    """
    model.eval()
    example = torch.randn(1, WINDOW_FRAMES, EMBEDDING_DIM)
    if threshold is not None:
        if not isinstance(model, AveragedHeads):
            raise ExportError("a calibrated export needs an AveragedHeads model")
        model, names = CalibratedHeads(model, threshold).eval(), ["score", "raw_score"]
    else:
        names = ["score"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), str(path), input_names=["features"],
                              output_names=names, opset_version=17, dynamo=False)
    except Exception as exc:  # torch raises many unrelated types here
        raise ExportError(f"ONNX export failed: {exc}") from exc
    return path


def _probe(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(0, 1, (n, WINDOW_FRAMES, EMBEDDING_DIM))
    return x.astype(np.float32)


def check_parity(model: torch.nn.Module, onnx_path: Path, *, n: int = 64,
                 seed: int = 0) -> float:
    """Max |torch - onnxruntime| raw score on random windows; raises ExportError past the
    tolerance."""
    x = _probe(n, seed)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy().reshape(-1)
    got = WakeModel(onnx_path).score(x)
    diff = float(np.max(np.abs(ref - got)))
    if diff > PARITY_TOLERANCE:
        raise ExportError(f"ONNX output differs from torch by {diff:.2e}", {"max_diff": diff})
    return diff


def onnx_calibrated_scores(onnx_path: Path, windows: np.ndarray) -> np.ndarray:
    """The first ONNX output (what third-party runtimes read) for each window."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.array([sess.run(None, {name: w[None]})[0].item() for w in windows], np.float32)


def check_calibration(onnx_path: Path, tflite_path: Path, threshold: float, *, n: int = 64,
                      seed: int = 1) -> dict[str, float]:
    """Check the calibrated outputs: ONNX ``score`` against ``calibrate(raw_score)`` and the
    ``.tflite`` (numpy reference interpreter, and ``ai-edge-litert`` when installed) against
    the ONNX ``score``. Raises ExportError past the tolerances; returns the max differences.
    """
    x = _probe(n, seed) * np.float32(3.0)  # spread the scores over the whole range
    onnx_cal = onnx_calibrated_scores(onnx_path, x)
    raw = WakeModel(onnx_path).score(x)
    # float32 raw scores near 0 or 1 carry little of their logit (and onnxruntime's sigmoid
    # is accurate to ~1e-7 absolute): compare where they carry enough
    ok = (raw > 1e-3) & (raw < 1 - 1e-3)
    transform = float(np.max(np.abs(calibrate(raw[ok], threshold) - onnx_cal[ok]),
                             initial=0.0))
    reference = TFLiteReference(tflite_path.read_bytes())
    tfl = np.array([reference(w[None])[0].item() for w in x], np.float32)
    diffs = {"onnx_transform_max_diff": transform,
             "tflite_reference_max_diff": float(np.max(np.abs(tfl - onnx_cal)))}
    litert = _litert_scores(tflite_path, x)
    if litert is not None:
        diffs["tflite_litert_max_diff"] = float(np.max(np.abs(litert - onnx_cal)))
    if transform > PARITY_TOLERANCE:
        raise ExportError(f"calibrated ONNX score differs from the transform by {transform:.2e}",
                          diffs)
    worst = max(v for k, v in diffs.items() if k.startswith("tflite"))
    if worst > TFLITE_TOLERANCE:
        raise ExportError(f"TFLite output differs from the ONNX score by {worst:.2e}", diffs)
    return diffs


def _litert_scores(tflite_path: Path, x: np.ndarray) -> np.ndarray | None:
    """Scores from ``ai-edge-litert`` when it is installed (a test dependency), else None."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return None
    interp = Interpreter(model_path=str(tflite_path), num_threads=1)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    scores = []
    for w in x:
        interp.set_tensor(inp, w[None])
        interp.invoke()
        scores.append(interp.get_tensor(out).item())
    return np.array(scores, np.float32)


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
    """Write ``{id}.onnx``, ``{id}.tflite``, ``{id}.pt``, ``{id}.json`` and ``report.md``.

    The ``.onnx`` (first output) and ``.tflite`` are calibrated at the detector's threshold
    (``manifest.detector.threshold``, unrounded; 0.5 there == the threshold); every output is
    checked against torch / the ONNX graph.
    """
    mid = manifest.id
    threshold = manifest.detector.threshold
    onnx_path = export_onnx(model, directory / f"{mid}.onnx", threshold)
    diff = check_parity(model, onnx_path)
    tflite_path = export_tflite(model, directory / f"{mid}.tflite", threshold)
    cal_diffs = check_calibration(onnx_path, tflite_path, threshold)
    save_state_dict(model, directory / f"{mid}.pt")
    files = {"onnx": f"{mid}.onnx", "tflite": f"{mid}.tflite", "pt": f"{mid}.pt",
             "json": f"{mid}.json", "report": "report.md"}
    manifest = manifest.model_copy(update={
        "files": files,
        "calibration": calibration_record(threshold, len(model.heads)),
        "score_scale": score_scales(files),
        "metrics": manifest.metrics.model_copy(update={"parity": ParityDiffs(
            onnx_parity_max_diff=diff, **{k: round(v, 9) for k, v in cal_diffs.items()})}),
    })
    (directory / "report.md").write_text(report, encoding="utf-8")
    (directory / f"{mid}.json").write_text(
        json.dumps(manifest.model_dump(mode="json"), indent=2), encoding="utf-8")
    return manifest
