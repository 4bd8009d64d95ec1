"""Listing negative files and naming their sources."""

from __future__ import annotations

from pathlib import Path

from wakebuilder.corpus import iter_negative_files, source_of


def test_iter_negative_files_recurses_and_filters(tmp_path: Path) -> None:
    names = ["corpus/fotaq/A.flac", "corpus/asterisk-en/digits/1.FLAC", "mine/x.wav",
             "mine/deep/y.webm", "z.opus", "z.mp3", "c.ogg", "notes.txt",
             "corpus/MANIFEST.json", "corpus/.bass.partial/1.flac"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_negative_files(tmp_path)]
    assert found == sorted(["corpus/fotaq/A.flac", "corpus/asterisk-en/digits/1.FLAC",
                            "mine/x.wav", "mine/deep/y.webm", "z.opus", "z.mp3", "c.ogg"])
    assert iter_negative_files(tmp_path / "missing") == []


def test_source_of(tmp_path: Path) -> None:
    neg = tmp_path / "data/negative"
    assert source_of(neg / "corpus/fotaq/A.flac", neg) == "corpus/fotaq"
    assert source_of(neg / "corpus/asterisk-en/digits/1.flac") == "corpus/asterisk-en"
    assert source_of(neg / "podcasts/ep1/a.wav", neg) == "podcasts"
    assert source_of(neg / "noise.wav", neg) == "noise"
