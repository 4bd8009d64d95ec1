"""The embedding layout (batch size, threads) never changes the features."""

import numpy as np

from wakebuilder.features.frontend import FeatureFrontend, get_frontend


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = int(seconds * 16000) // 1280
    gains = np.repeat(10 ** rng.uniform(-3.0, -0.5, frames), 1280)
    return np.clip(rng.normal(0, 1, len(gains)) * gains, -1, 1).astype(np.float32)


def test_threads_and_batch_sizes_give_identical_embeddings() -> None:
    x = _speechlike(12.0, 0)
    ref = FeatureFrontend(1, embed_batch=1024).embed_stream(x)
    for threads, batch in ((1, 1), (1, 32), (2, 32), (2, 7), (3, 16)):
        fe = FeatureFrontend(threads, embed_batch=batch)
        for got in (fe.embed_stream(x), fe.embed(fe.mel_windows(x))):
            assert got.shape == ref.shape == (len(x) // 1280, 96)
            assert np.array_equal(got, ref), (threads, batch)


def test_threaded_front_end_equals_the_stream() -> None:
    x = _speechlike(6.0, 1)
    fe = get_frontend(2)
    stream = fe.new_stream()
    parts = [stream.push(x[i:i + 3000]) for i in range(0, len(x), 3000)]
    assert np.array_equal(np.concatenate(parts), fe.embed_stream(x))
