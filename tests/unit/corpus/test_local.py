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


def test_iter_negative_files_survives_folders_vanishing(tmp_path: Path, monkeypatch) -> None:
    """A fetch running alongside renames its ``.partial`` folder when done (the build of
    2026-12-03 died of it): hidden folders are never entered, and a folder that vanishes
    between being seen and being listed is skipped."""
    import os

    for name in ["corpus/a/1.flac", "corpus/.b.partial/2.flac", "corpus/c/3.flac"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    real_scandir = os.scandir
    listed: list[str] = []

    def scandir(path):  # noqa: ANN001, ANN202 - os.scandir's own signature
        name = os.path.basename(os.fspath(path))
        listed.append(name)
        if name in (".b.partial", "c"):
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = [p.relative_to(tmp_path).as_posix() for p in iter_negative_files(tmp_path)]
    assert found == ["corpus/a/1.flac"]
    assert ".b.partial" not in listed and "c" in listed
