"""Grouped embedding of many files equals embedding each file alone, however groups split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wakebuilder.audio.io import write_wav
from wakebuilder.negstore import embedding


def _files(root: Path) -> list[Path]:
    rng = np.random.default_rng(3)
    out = []
    for i, secs in enumerate((0.4, 2.0, 3.5, 1.0, 2.5)):
        x = (rng.normal(0, 0.05 * (i + 1), int(secs * 16000))).astype(np.float32)
        out.append(write_wav(root / f"f{i}.wav", x))
    (root / "bad.wav").write_bytes(b"not audio at all")
    out.insert(2, root / "bad.wav")
    return out


@pytest.mark.parametrize("group_windows", [1, 40, 16_384])
def test_groups_equal_single_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   group_windows: int) -> None:
    paths = _files(tmp_path)
    monkeypatch.setattr(embedding, "GROUP_WINDOWS", group_windows)
    got = dict(embedding._run_batched(paths, lambda: False))
    assert sorted(got) == list(range(len(paths)))
    single = embedding.default_embedder(1)
    for i, path in enumerate(paths):
        ref = embedding.embed_file(path, single)
        assert (got[i].error is None) == (ref.error is None), path
        assert len(got[i].segments) == len(ref.segments)
        for (s1, e1), (s2, e2) in zip(got[i].segments, ref.segments, strict=True):
            assert s1 == pytest.approx(s2)
            assert np.array_equal(e1, e2)
    assert got[2].error is not None
