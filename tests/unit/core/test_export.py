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


def test_openwakeword_runtime_gives_our_scores(tmp_path: Path,
                                               computer_clips: list[Path]) -> None:
    oww_model = pytest.importorskip("openwakeword.model")
    random_model(tmp_path, "parity")
    mel, emb = model_paths()
    runtime = oww_model.Model(wakeword_models=[str(tmp_path / "parity.onnx")],
                              inference_framework="onnx", melspec_model_path=str(mel),
                              embedding_model_path=str(emb))
    audio = np.concatenate([decode_audio(p) for p in computer_clips[:2]])
    pcm = to_int16(audio)
    theirs = [runtime.predict(pcm[k * 1280:(k + 1) * 1280])["parity"]
              for k in range(len(pcm) // 1280)]
    from wakebuilder.detection.detector import score_stream
    ours = score_stream(WakeModel(tmp_path / "parity.onnx"), audio)
    # openWakeWord pads its first 15 windows with noise embeddings; compare after that.
    assert np.max(np.abs(np.array(theirs[15:]) - ours[15:])) < 1e-4
