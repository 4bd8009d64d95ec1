"""The exported ``.tflite`` in third-party TFLite runtimes, and the in-graph calibration.

Runtimes: pyopen-wakeword's own bundled ``libtensorflowlite_c`` (Home Assistant's
openWakeWord runtime) and ``ai-edge-litert``. Inputs are windows of real speech embeddings.
"""

from __future__ import annotations

import ctypes
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import COMPUTER_WAVS, DEV_DATA
from tests.helpers import random_model
from wakebuilder.audio.io import decode_audio
from wakebuilder.detection.model import WakeModel
from wakebuilder.errors import ExportError
from wakebuilder.features.frontend import get_frontend, windows_of
from wakebuilder.modelstore.calibration import calibrate, uncalibrate
from wakebuilder.modelstore.export import (
    check_calibration,
    export_onnx,
    load_heads,
    onnx_calibrated_scores,
)
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.tflite import build_tflite
from wakebuilder.training.head import AveragedHeads, HeadConfig, WakeHead

NOT_WAKE_WORDS = sorted((DEV_DATA / "precise" / "not-wake-words" / "en").glob("*.wav"))
TOLERANCE = 1e-5
MIN_WINDOWS = 1000
THRESHOLD = 0.83  # far from 0.5, so the calibration shift matters

HEAD_KINDS = {  # name: random_model keyword arguments
    "mlp": {"kind": "mlp"},
    "tcn": {"kind": "tcn"},
    "attention": {"kind": "attention"},
    "mlp_se": {"kind": "mlp", "se": True},
    "tcn_attention_se": {"kind": "tcn", "attention": True, "se": True},
    "ensemble_3_attention": {"kind": "attention", "n_heads": 3},
}


@pytest.fixture(scope="module")
def real_windows() -> np.ndarray:
    """At least 1,000 windows of embeddings of real speech (not-wake-words and "computer")."""
    clips = NOT_WAKE_WORDS + COMPUTER_WAVS[:12]
    if len(clips) < 30:
        pytest.skip("shared dev recordings are missing")
    audio = np.concatenate([decode_audio(p) for p in clips])
    windows = np.ascontiguousarray(windows_of(get_frontend().embed_stream(audio)))
    assert len(windows) >= MIN_WINDOWS
    return windows


def pyopen_scores(tflite_path: Path, windows: np.ndarray) -> np.ndarray:
    """Scores from pyopen-wakeword's bundled TFLite C library (its interpreter, our windows)."""
    from pyopen_wakeword.openwakeword import OpenWakeWord

    ww = OpenWakeWord.from_model(tflite_path)
    lib = ww.lib
    assert ww.input_windows == 16
    out = np.zeros(1, np.float32)
    scores = []
    for w in windows:
        x = np.ascontiguousarray(w[None], dtype=np.float32)
        assert lib.TfLiteTensorCopyFromBuffer(ww.input_tensor, x.ctypes.data_as(ctypes.c_void_p),
                                              ctypes.c_size_t(x.nbytes)) == 0
        assert lib.TfLiteInterpreterInvoke(ww.interpreter) == 0
        lib.TfLiteTensorCopyToBuffer(ww.output_tensor, out.ctypes.data_as(ctypes.c_void_p),
                                     ctypes.c_size_t(out.nbytes))
        scores.append(out.item())
    ww.close()
    return np.array(scores, np.float32)


def litert_scores(tflite_path: Path, windows: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(tflite_path), num_threads=1)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert list(inp["shape"]) == [1, 16, 96] and list(out["shape"]) == [1, 1]
    assert inp["dtype"] == np.float32 and out["dtype"] == np.float32
    scores = []
    for w in windows:
        interp.set_tensor(inp["index"], w[None])
        interp.invoke()
        scores.append(interp.get_tensor(out["index"]).item())
    return np.array(scores, np.float32)


def _check_runtimes(model_dir: Path, model_id: str, windows: np.ndarray) -> dict[str, float]:
    """Both runtimes against the ONNX ``score`` output; returns the max differences."""
    pytest.importorskip("pyopen_wakeword")
    pytest.importorskip("ai_edge_litert")
    tfl = model_dir / f"{model_id}.tflite"
    ref = onnx_calibrated_scores(model_dir / f"{model_id}.onnx", windows)
    diffs = {"pyopen_wakeword": float(np.max(np.abs(pyopen_scores(tfl, windows) - ref))),
             "ai_edge_litert": float(np.max(np.abs(litert_scores(tfl, windows) - ref)))}
    assert max(diffs.values()) < TOLERANCE, diffs
    return diffs


@pytest.mark.parametrize("name", list(HEAD_KINDS))
def test_tflite_matches_onnx_on_real_windows(tmp_path: Path, real_windows: np.ndarray,
                                             name: str) -> None:
    m = random_model(tmp_path, "h", threshold=THRESHOLD, **HEAD_KINDS[name])  # type: ignore[arg-type]
    assert m.files["tflite"] == "h.tflite" and (tmp_path / "h.tflite").is_file()
    _check_runtimes(tmp_path, "h", real_windows)
    # The calibration: 0.5 in the exported graphs is the threshold on WakeBuilder's raw scale.
    raw = WakeModel(tmp_path / "h.onnx").score(real_windows)
    cal = onnx_calibrated_scores(tmp_path / "h.onnx", real_windows)
    assert np.max(np.abs(calibrate(raw, THRESHOLD) - cal)) < 1e-5
    clear = np.abs(raw - THRESHOLD) > 1e-5
    assert np.array_equal((raw >= THRESHOLD)[clear], (cal >= 0.5)[clear])


@pytest.mark.slow
def test_trained_model_tflite_in_both_runtimes(trained_model_dir: Path,
                                               real_windows: np.ndarray) -> None:
    mid = trained_model_dir.name
    manifest = ModelManifest.model_validate_json((trained_model_dir / f"{mid}.json").read_text())
    assert manifest.files["tflite"] == f"{mid}.tflite"
    assert manifest.calibration is not None and manifest.score_scale["tflite"] == "calibrated"
    _check_runtimes(trained_model_dir, mid, real_windows)
    report = (trained_model_dir / "report.md").read_text()
    assert f"{mid}.tflite" in report and "0.5" in report


def test_saturated_ensemble_is_finite_and_monotone(tmp_path: Path,
                                                   real_windows: np.ndarray) -> None:
    """Confident heads (|logit| up to ~40) push raw scores to 1.0 in float32: the ensemble's
    calibrated score must stay finite, agree across runtimes and keep its order."""
    torch.manual_seed(3)
    base = WakeHead(HeadConfig(kind="mlp", dropout=0.0))
    heads = [WakeHead(HeadConfig(kind="mlp", dropout=0.0)) for _ in range(3)]
    for i, h in enumerate(heads):  # three heads that agree, each very confident
        h.load_state_dict(base.state_dict())
        with torch.no_grad():
            h.classifier[-1].weight.mul_(80.0 + 10 * i)
            h.classifier[-1].bias.mul_(80.0 + 10 * i).add_(20.0)
    model = AveragedHeads(heads).eval()
    onnx = export_onnx(model, tmp_path / "s.onnx", 0.9999)
    tfl = tmp_path / "s.tflite"
    tfl.write_bytes(build_tflite(model, 0.9999))
    diffs = check_calibration(onnx, tfl, 0.9999)
    assert diffs["tflite_reference_max_diff"] < TOLERANCE
    windows = real_windows[::4]
    cal = onnx_calibrated_scores(onnx, windows)
    assert np.all(np.isfinite(cal)) and cal.min() < 0.01 and cal.max() > 0.99
    assert 0.1 < np.mean(cal >= 0.5) < 0.9
    raw = WakeModel(onnx).score(windows)
    assert np.mean(raw == 1.0) > 0.05  # raw scores saturate: the case the design is for
    # Last-layer weights scaled 80-100x make float32 summation-order differences in the logit
    # ~100x larger than in a trained head, hence the looser bound here.
    assert np.max(np.abs(litert_scores(tfl, windows) - cal)) < 10 * TOLERANCE
    # Where float32 still resolves the raw score, the order of raw and calibrated agrees.
    ok = raw < 1 - 1e-4
    order = np.argsort(raw[ok], kind="stable")
    assert np.all(np.diff(cal[ok][order]) >= -1e-6)


def test_uncalibrate_inverts_calibrate() -> None:
    raw = np.linspace(0.001, 0.999, 200)
    for t in (0.05, 0.5, 0.83, 0.9999):
        assert np.allclose(uncalibrate(calibrate(raw, t), t), raw, atol=1e-9)
        assert abs(float(calibrate(np.array([t]), t)[0]) - 0.5) < 1e-9


def test_model_written_before_calibration_still_loads(tmp_path: Path) -> None:
    """An old model directory: ONNX with one raw ``score`` output, no calibration fields."""
    torch.manual_seed(0)
    cfg = HeadConfig(kind="mlp", dropout=0.0)
    model = AveragedHeads([WakeHead(cfg)]).eval()
    export_onnx(model, tmp_path / "old.onnx")  # the pre-calibration layout
    old_json = {"id": "old", "wake_word": "old", "threshold": 0.8,
                "detector": {"threshold": 0.8}, "files": {"onnx": "old.onnx"}}
    (tmp_path / "old.json").write_text(json.dumps(old_json))
    manifest = ModelManifest.model_validate_json((tmp_path / "old.json").read_text())
    assert manifest.calibration is None and manifest.score_scale == {}
    x = np.random.default_rng(0).normal(0, 1, (20, 16, 96)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy().reshape(-1)
    wm = WakeModel(tmp_path / "old.onnx")
    assert wm.output == "score"
    assert np.max(np.abs(wm.score(x) - ref)) < 1e-5
    # A new export keeps the raw score as WakeModel's scale.
    random_model(tmp_path / "new", "new", threshold=0.8)
    new = WakeModel(tmp_path / "new" / "new.onnx")
    assert new.output == "raw_score"
    restored = load_heads(tmp_path / "new" / "new.pt", cfg.to_dict(), 1)
    with torch.no_grad():
        ref_new = restored(torch.from_numpy(x)).numpy().reshape(-1)
    assert np.max(np.abs(new.score(x) - ref_new)) < 1e-5


def test_export_is_fast_and_parity_is_recorded(tmp_path: Path) -> None:
    started = time.perf_counter()
    m = random_model(tmp_path, "fast", threshold=0.7, kind="tcn", n_heads=2)
    elapsed = time.perf_counter() - started
    assert elapsed < 20  # ONNX + TFLite + both checks; ~1-2 s on an idle core
    metrics = m.model_dump(mode="json")["metrics"]
    parity = metrics.get("parity") or metrics  # typed metrics group them under "parity"
    for key in ("onnx_transform_max_diff", "tflite_reference_max_diff"):
        assert parity[key] < TOLERANCE
    assert m.score_scale["threshold"] == "raw" and m.score_scale["onnx:score"] == "calibrated"
    assert m.calibration is not None and m.calibration["threshold"] == 0.7


def test_unknown_layer_is_refused() -> None:
    head = WakeHead(HeadConfig(kind="mlp", dropout=0.0))
    head.classifier[3] = torch.nn.GELU()  # not a layer the exporter translates
    with pytest.raises(ExportError, match="GELU"):
        build_tflite(AveragedHeads([head]).eval(), 0.5)


@pytest.mark.slow
def test_pyopen_wakeword_streaming_agrees_with_our_detector(trained_model_dir: Path) -> None:
    """Real clips through pyopen-wakeword's own streaming API (its mel and embedding models,
    its framing) with the exported ``.tflite`` at 0.5, against WakeBuilder's detector at the
    model's calibrated threshold. pyopen-wakeword frames audio one 80 ms frame later than
    openWakeWord, so per-frame scores differ; the verdict per clip is compared, and a clip
    whose peak lies within that framing noise of the threshold (in either runtime) may go
    either way."""
    oww = pytest.importorskip("pyopen_wakeword.openwakeword")
    from tests.conftest import HELDOUT_WAVS
    from wakebuilder.api.inference import score_file
    from wakebuilder.audio.format import to_int16
    from wakebuilder.modelstore.calibration import calibrate
    from wakebuilder.modelstore.loader import ModelCache
    from wakebuilder.modelstore.store import ModelStore

    mid = trained_model_dir.name
    store, cache = ModelStore(trained_model_dir.parent), ModelCache()
    threshold = store.get(mid).detector.threshold
    features = oww.OpenWakeWordFeatures.from_builtin()
    ww = oww.OpenWakeWord.from_model(trained_model_dir / f"{mid}.tflite")
    gap = np.zeros(3 * 16000, np.float32)  # longer than its 2.1 s context: clips independent

    def peak(clip: np.ndarray) -> float:  # one stream for all clips: 8 s of zeros only once
        pcm = to_int16(np.concatenate([clip, gap]))
        probs = [p for k in range(0, len(pcm) - 1279, 1280)
                 for emb in features.process_streaming(pcm[k:k + 1280].tobytes())
                 for p in ww.process_streaming(emb)]
        return max(probs)

    peak(np.zeros(0, np.float32))  # consume the 8 s of zeros each stream starts with
    rows = []
    for path in HELDOUT_WAVS[:24] + NOT_WAKE_WORDS[:24]:
        clip = decode_audio(path)
        ours = score_file(store, cache, mid, clip)
        rows.append((path in HELDOUT_WAVS, ours.detected,
                     float(calibrate([ours.confidence], threshold)[0]), peak(clip)))
    ww.close()
    features.close()
    theirs = [p >= 0.5 for *_, p in rows]
    agree = [o == t for (_, o, _, _), t in zip(rows, theirs, strict=True)]
    assert sum(agree) >= len(rows) - 2, rows
    # a clip the two runtimes disagree on lies near the threshold on at least one side
    assert all(a or min(abs(c - 0.5), abs(p - 0.5)) < 0.15
               for a, (_, _, c, p) in zip(agree, rows, strict=True)), rows
    # Both verdicts are exercised (the tiny test model is a fixture, not a quality figure):
    # most wake words fire and most other speech does not, in pyopen-wakeword too.
    assert sum(t for (w, *_), t in zip(rows, theirs, strict=True) if w) >= 14, rows
    assert sum(t for (w, *_), t in zip(rows, theirs, strict=True) if not w) <= 5, rows
