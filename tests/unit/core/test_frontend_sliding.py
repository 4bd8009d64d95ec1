"""One sliding pass of the embedding model over a run of mel frames gives, bit for bit, the
embeddings of its windows one by one (the layout the training data and the negative store
use, against the one the live detector uses)."""

import numpy as np
import pytest

from wakebuilder.errors import EngineUnavailableError
from wakebuilder.features import frontend as fr
from wakebuilder.features.frontend import FeatureFrontend, get_frontend, windows_in


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = max(1, int(seconds * 16000) // 1280)
    gains = np.repeat(10 ** rng.uniform(-3.5, -0.3, frames), 1280)
    return np.clip(rng.normal(0, 1, len(gains)) * gains, -1, 1).astype(np.float32)


@pytest.mark.parametrize("seconds", [0.05, 0.08, 0.5, 1.3, 2.0, 7.7])
def test_stream_equals_window_by_window(seconds: float) -> None:
    fe = get_frontend(1)
    x = _speechlike(seconds, int(seconds * 100))
    n = len(x) // 1280
    ref = fe.embed(fe.mel_windows(x))
    got = fe.embed_stream(x)
    assert got.shape == ref.shape == (n, 96)
    assert np.array_equal(got, ref)
    for last in (0, 1, 5, 26, n + 3):
        assert np.array_equal(fe.embed_stream(x, last=last), fe.embed(fe.mel_windows(x, last)))


def test_long_runs_split_into_passes_equal_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs longer than a pass (here 7 outputs) are computed in overlapping passes, on two
    threads, and still equal the windows one by one; runs of any length in one call."""
    monkeypatch.setattr(fr, "SLIDE_OUTPUTS", 7)
    fe = FeatureFrontend(2)
    clips = [_speechlike(s, i) for i, s in enumerate((0.2, 1.1, 3.3, 0.9, 6.0))]
    spans = [fe.mel_span(c) for c in clips]
    for span, got, clip in zip(spans, fe.embed_mels(spans), clips, strict=True):
        assert len(got) == windows_in(len(span)) == len(clip) // 1280
        assert np.array_equal(got, fe.embed(fe.mel_windows(clip)))


def test_mel_span_holds_exactly_the_windows() -> None:
    fe = get_frontend(1)
    x = _speechlike(3.0, 9)
    span, windows = fe.mel_span(x, last=20), fe.mel_windows(x, last=20)
    assert len(span) == 76 + 8 * 19 and windows_in(len(span)) == 20
    assert np.array_equal(np.stack([span[8 * k:8 * k + 76] for k in range(20)]), windows)
    assert fe.mel_span(x[:1000]).shape == (0, 32) and windows_in(75) == 0


def test_an_unexpected_embedding_graph_is_refused(tmp_path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 76, 32, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 76, 32, 1])])
    path = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(EngineUnavailableError, match="convolutional stack"):
        fr.sliding_model(path)
