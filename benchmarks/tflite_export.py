"""The ``.tflite`` export per head kind: export time, file size, and max |score difference| vs
the ONNX graph's calibrated ``score`` output in pyopen-wakeword's bundled TFLite library,
``ai-edge-litert`` and the numpy reference interpreter, on windows of real speech embeddings.

    python benchmarks/tflite_export.py [--threshold 0.83] [--trained DIR] [--out FILE]

Heads are untrained (random, seed 0) unless ``--trained`` names a model directory, whose
``.pt`` is re-exported. Needs the test extra (pyopen-wakeword, ai-edge-litert).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from wakebuilder.audio.io import decode_audio
from wakebuilder.features.frontend import get_frontend, windows_of
from wakebuilder.modelstore.calibration import CalibratedHeads
from wakebuilder.modelstore.export import export_onnx, load_heads, onnx_calibrated_scores
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.tflite import build_tflite
from wakebuilder.modelstore.tflite_reference import TFLiteReference
from wakebuilder.training.head import AveragedHeads, HeadConfig, WakeHead

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "dev-data" / "precise"
KINDS = {
    "mlp": (dict(kind="mlp"), 1),
    "tcn": (dict(kind="tcn"), 1),
    "attention": (dict(kind="attention"), 1),
    "mlp+se": (dict(kind="mlp", use_se_block=True), 1),
    "tcn+attention+se": (dict(kind="tcn", use_attention=True, use_se_block=True), 1),
    "attention x3 (ensemble)": (dict(kind="attention"), 3),
    "mlp x5 (ensemble)": (dict(kind="mlp"), 5),
}


def real_windows() -> np.ndarray:
    clips = sorted((DEV / "not-wake-words" / "en").glob("*.wav"))
    clips += sorted((DEV / "computer").glob("*.wav"))[:12]
    audio = np.concatenate([decode_audio(p) for p in clips])
    return np.ascontiguousarray(windows_of(get_frontend().embed_stream(audio)))


def pyopen(path: Path, windows: np.ndarray) -> np.ndarray:
    import ctypes

    from pyopen_wakeword.openwakeword import OpenWakeWord

    ww = OpenWakeWord.from_model(path)
    out, scores = np.zeros(1, np.float32), []
    for w in windows:
        x = np.ascontiguousarray(w[None])
        ww.lib.TfLiteTensorCopyFromBuffer(ww.input_tensor, x.ctypes.data_as(ctypes.c_void_p),
                                          ctypes.c_size_t(x.nbytes))
        ww.lib.TfLiteInterpreterInvoke(ww.interpreter)
        ww.lib.TfLiteTensorCopyToBuffer(ww.output_tensor, out.ctypes.data_as(ctypes.c_void_p),
                                        ctypes.c_size_t(out.nbytes))
        scores.append(out.item())
    ww.close()
    return np.array(scores, np.float32)


def litert(path: Path, windows: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    scores = []
    for w in windows:
        it.set_tensor(i, w[None])
        it.invoke()
        scores.append(it.get_tensor(o).item())
    return np.array(scores, np.float32)


def measure(name: str, model: AveragedHeads, threshold: float, windows: np.ndarray,
            work: Path) -> dict[str, object]:
    model.eval()
    started = time.perf_counter()
    with torch.no_grad():
        data = build_tflite(model, threshold)
    build_s = time.perf_counter() - started
    tfl = work / "m.tflite"
    tfl.write_bytes(data)
    started = time.perf_counter()
    onnx = export_onnx(model, work / "m.onnx", threshold)
    onnx_s = time.perf_counter() - started
    ref = onnx_calibrated_scores(onnx, windows)
    with torch.no_grad():
        torch_cal = CalibratedHeads(model, threshold)(torch.from_numpy(windows))[0]
    sub = windows[:200]
    reference = TFLiteReference(data)
    numpy_ref = np.array([reference(w[None])[0].item() for w in sub], np.float32)
    return {"head": name, "windows": len(windows), "tflite_export_s": round(build_s, 3),
            "onnx_export_s": round(onnx_s, 3), "tflite_bytes": len(data),
            "pyopen_wakeword": float(np.max(np.abs(pyopen(tfl, windows) - ref))),
            "ai_edge_litert": float(np.max(np.abs(litert(tfl, windows) - ref))),
            "numpy_reference_200": float(np.max(np.abs(numpy_ref - ref[:200]))),
            "torch_vs_onnx": float(np.max(np.abs(torch_cal.numpy().reshape(-1) - ref)))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threshold", type=float, default=0.83)
    ap.add_argument("--trained", type=Path, help="a model directory to re-export")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    windows = real_windows()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.trained:
            m = ModelManifest.model_validate_json(
                (args.trained / f"{args.trained.name}.json").read_text())
            cfg = {k: v for k, v in m.head_config.items() if k != "n_heads"}
            model = load_heads(args.trained / f"{args.trained.name}.pt", cfg,
                               int(m.head_config.get("n_heads", 1)))
            rows.append(measure(f"trained {m.id}", model, m.detector.threshold, windows, work))
        else:
            for name, (cfg, n) in KINDS.items():
                torch.manual_seed(0)
                heads = [WakeHead(HeadConfig(dropout=0.0, **cfg)) for _ in range(n)]
                rows.append(measure(name, AveragedHeads(heads), args.threshold, windows, work))
    for r in rows:
        print(json.dumps(r))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
