"""The front end equals openWakeWord's streaming features, whatever the chunk size."""

import numpy as np
import pytest

from wakebuilder.audio.format import to_int16
from wakebuilder.audio.io import decode_audio
from wakebuilder.features.frontend import get_frontend, model_paths, windows_of


@pytest.fixture(scope="module")
def speech(computer_clips) -> np.ndarray:  # type: ignore[no-untyped-def]
    # Clips of different loudness back to back: the case where batched mel calls differ.
    parts = [decode_audio(p) * g for p, g in zip(computer_clips[:3], (1.0, 0.1, 0.5),
                                                  strict=True)]
    return np.concatenate(parts).astype(np.float32)


def test_batch_path_equals_streaming_for_any_chunking(speech: np.ndarray) -> None:
    fe = get_frontend()
    batch = fe.embed_stream(speech)
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        stream, parts, i = fe.new_stream(), [], 0
        while i < len(speech):
            n = int(rng.integers(1, 6000))
            parts.append(stream.push(speech[i:i + n]))
            i += n
        assert np.array_equal(np.concatenate(parts), batch)
    assert batch.shape == (len(speech) // 1280, 96)


def test_last_frames_only(speech: np.ndarray) -> None:
    fe = get_frontend()
    assert np.array_equal(fe.embed_stream(speech, last=17), fe.embed_stream(speech)[-17:])


def test_parity_with_openwakeword_runtime(speech: np.ndarray) -> None:
    oww_utils = pytest.importorskip("openwakeword.utils")
    mel, emb = model_paths()
    features = oww_utils.AudioFeatures(melspec_model_path=str(mel),
                                       embedding_model_path=str(emb),
                                       inference_framework="onnx")
    pcm = to_int16(speech)
    theirs = []
    for k in range(len(pcm) // 1280):
        features(pcm[k * 1280:(k + 1) * 1280])
        theirs.append(features.get_features(1)[0, -1])
    ours = get_frontend().embed_stream(speech)
    assert np.max(np.abs(np.array(theirs) - ours)) < 1e-4


def test_whole_clip_mel_differs_from_streamed(speech: np.ndarray) -> None:
    """Trap (a) of the design: one mel call over a whole clip gives other features."""
    fe = get_frontend()
    whole = fe.melspectrogram(to_int16(speech).astype(np.float32))
    streamed = fe.mel_stream(speech)[76 + 5:]
    n = min(len(whole), len(streamed)) - 8
    assert np.max(np.abs(whole[8:n] - streamed[8:n])) > 0.01


def test_windows_of_shapes() -> None:
    e = np.arange(20 * 96, dtype=np.float32).reshape(20, 96)
    w = windows_of(e)
    assert w.shape == (5, 16, 96)
    assert np.array_equal(w[2], e[2:18])
