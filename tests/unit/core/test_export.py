"""Export round trip, and the exported head in a third-party openWakeWord runtime."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import random_model
from wakebuilder.audio.format import to_int16
from wakebuilder.audio.io import decode_audio
from wakebuilder.detection.model import WakeModel
from wakebuilder.features.frontend import model_paths
from wakebuilder.modelstore.export import load_heads


@pytest.mark.parametrize("kind", ["mlp", "tcn", "attention"])
def test_round_trip(tmp_path: Path, kind: str) -> None:
    m = random_model(tmp_path, "rt", kind=kind)
    state = torch.load(tmp_path / "rt.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    model = load_heads(tmp_path / "rt.pt", {k: v for k, v in m.head_config.items()
                                            if k != "n_heads"}, 1)
    x = np.random.default_rng(0).normal(0, 1, (8, 16, 96)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy().reshape(-1)
    onnx = WakeModel(tmp_path / "rt.onnx")
    assert np.max(np.abs(onnx.score(x) - ref)) < 1e-4
    import onnxruntime as ort
    sess = ort.InferenceSession(str(tmp_path / "rt.onnx"))
    assert sess.get_inputs()[0].shape == [1, 16, 96]
    assert sess.get_outputs()[0].shape == [1, 1]


def _openwakeword(onnx_path: Path) -> object:
    oww_model = pytest.importorskip("openwakeword.model")
    mel, emb = model_paths()
    return oww_model.Model(wakeword_models=[str(onnx_path)], inference_framework="onnx",
                           melspec_model_path=str(mel), embedding_model_path=str(emb))


def _oww_scores(runtime: object, name: str, audio: np.ndarray) -> np.ndarray:
    pcm = to_int16(audio)
    return np.array([runtime.predict(pcm[k * 1280:(k + 1) * 1280])[name]  # type: ignore[attr-defined]
                     for k in range(len(pcm) // 1280)], np.float32)


def test_openwakeword_runtime_gives_our_scores(tmp_path: Path,
                                               computer_clips: list[Path]) -> None:
    """openWakeWord 0.6.0 reads the calibrated first output; WakeModel the raw one."""
    random_model(tmp_path, "parity", threshold=0.8)
    runtime = _openwakeword(tmp_path / "parity.onnx")
    audio = np.concatenate([decode_audio(p) for p in computer_clips[:2]])
    theirs = _oww_scores(runtime, "parity", audio)
    from wakebuilder.detection.detector import score_stream
    from wakebuilder.modelstore.calibration import calibrate
    raw = score_stream(WakeModel(tmp_path / "parity.onnx"), audio)
    # openWakeWord pads its first 15 windows with noise embeddings; compare after that.
    assert np.max(np.abs(theirs[15:] - calibrate(raw[15:], 0.8))) < 1e-4
    assert np.max(np.abs(theirs[15:] - raw[15:])) > 0.01  # it is not the raw scale


@pytest.mark.slow
def test_openwakeword_fires_at_half_where_our_detector_fires(trained_model_dir: Path) -> None:
    """The trained model's ONNX in openWakeWord at 0.5 vs our detector at its threshold."""
    from tests.conftest import DEV_DATA, HELDOUT_WAVS
    from wakebuilder.api.inference import score_file
    from wakebuilder.modelstore.loader import ModelCache
    from wakebuilder.modelstore.store import ModelStore

    mid = trained_model_dir.name
    store, cache = ModelStore(trained_model_dir.parent), ModelCache()
    runtime = _openwakeword(trained_model_dir / f"{mid}.onnx")
    others = sorted((DEV_DATA / "precise" / "not-wake-words" / "en").glob("*.wav"))[:20]
    lead = np.zeros(store.get(mid).detector.warmup_frames * 1280, np.float32)
    verdicts = []
    for path in HELDOUT_WAVS[:20] + others:
        clip = decode_audio(path)
        ours = score_file(store, cache, mid, clip).detected
        runtime.reset()  # type: ignore[attr-defined]
        audio = np.concatenate([lead, clip, np.zeros(16000, np.float32)])
        theirs = bool(_oww_scores(runtime, mid, audio)[len(lead) // 1280:].max() >= 0.5)
        verdicts.append((path in HELDOUT_WAVS, ours, theirs))
    assert all(o == t for _, o, t in verdicts), verdicts
    # Both verdicts are exercised: the tiny test model finds most wake words (it is a
    # fixture, not a quality figure) and rejects most other speech.
    assert sum(t for w, _, t in verdicts if w) >= 12, verdicts
    assert sum(t for w, _, t in verdicts if not w) <= 4, verdicts
