"""``cache_info`` (``GET /api/cache/info``, polled by the Train page while a build runs) reads
the store's index once per commit and walks ``data/negative`` again only when a folder near
the top changed (or a minute passed), yet always reports what is committed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.negstore.test_store import fake_embed, tone
from wakebuilder.audio.io import write_wav
from wakebuilder.layout import DataLayout
from wakebuilder.negstore import build
from wakebuilder.negstore.store import NegativeStore


def test_stats_follow_commits_and_are_read_once_per_commit(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    layout = DataLayout(tmp_path / "data")
    store = NegativeStore(layout.negative_store_dir, embedder=fake_embed)
    store.add_audio("mine", "a.wav", tone(3.0), kind="speech")
    reads = []
    real = NegativeStore.stats
    monkeypatch.setattr(NegativeStore, "stats", lambda self: reads.append(1) or real(self))
    first = build.cache_info(layout)
    again = build.cache_info(layout)
    assert len(reads) == 1 and first["entries"] == again["entries"] == 1
    again["by_kind"]["speech"]["entries"] = 99  # a caller's edit does not reach the memo
    assert build.cache_info(layout)["by_kind"]["speech"]["entries"] == 1
    store.add_audio("mine", "b.wav", tone(2.0, seed=1), kind="music")  # a new commit
    after = build.cache_info(layout)
    assert len(reads) == 2 and after["entries"] == 2 and "music" in after["by_kind"]
    store.clear()
    assert build.cache_info(layout)["available"] is False


def test_file_count_follows_new_files_and_folders(tmp_path: Path) -> None:
    root = tmp_path / "negative"
    write_wav(root / "corpus" / "src-a" / "x" / "1.wav", tone(0.5))
    assert build.negative_file_count(root) == 1
    write_wav(root / "corpus" / "src-b" / "2.wav", tone(0.5))  # a new source folder
    assert build.negative_file_count(root) == 2
    write_wav(root / "mine.wav", tone(0.5))  # a file at the top
    assert build.negative_file_count(root) == 3
    (root / "mine.wav").unlink()
    assert build.negative_file_count(root) == 2
