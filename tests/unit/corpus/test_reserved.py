"""Reserved packages never reach the negative corpus; music sources keep non-speech audio."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wakebuilder.corpus import apt, fetch_corpus
from wakebuilder.corpus import extract_files as ef
from wakebuilder.corpus.model import CorpusSource
from wakebuilder.corpus.reserved import BENCHMARK_PACKAGES, check_fetchable, reserved_reason
from wakebuilder.corpus.sources import SOURCES, get_sources
from wakebuilder.errors import InvalidInputError

from .conftest import write

# The two evaluation packages, written in rot13 so that no file of the project names them.
EVALUATION = [codecs.decode(n, "rot13") for n in ("jrfabgu-1.16-zhfvp", "urqtrjnef-qngn")]
VARIANTS = [codecs.decode(n, "rot13") for n in ("jrfabgu-zhfvp", "Urqtrjnef-qngn ")]


@pytest.fixture
def fake_apt(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records every package list the fetcher asks apt for (and fetches nothing)."""
    calls: list[list[str]] = []

    def fake_fetch(packages: list[str], work: Path, downloader: object = None) -> apt.PackageSet:
        calls.append(packages)
        raise apt.AptError("the fake apt fetches nothing")

    monkeypatch.setattr(apt, "fetch_packages", fake_fetch)
    monkeypatch.setattr(apt, "require_apt", lambda: None)
    return calls


def _source(sid: str, package: str, kind: str = "music") -> CorpusSource:
    return CorpusSource(id=sid, packages=(package,), licence="X", licence_summary="x",
                        languages=(), description=sid, kind=kind,
                        extractor=ef.glob_extractor("usr/share/m", ("*.ogg",), long_files=True))


@pytest.mark.parametrize("package", EVALUATION + VARIANTS + sorted(BENCHMARK_PACKAGES))
def test_reserved_packages_are_refused_before_any_download(
        tmp_path: Path, fake_apt: list, package: str) -> None:
    registry = {"ok": SOURCES["drascula-en"], "bad": _source("bad", package)}
    with pytest.raises(InvalidInputError, match="reserved") as info:
        fetch_corpus(tmp_path, registry=registry)
    assert info.value.details["packages"] == [package]
    assert fake_apt == []  # nothing fetched, not even the allowed source
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("package", EVALUATION + VARIANTS)
def test_the_apt_layer_refuses_evaluation_packages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(apt, "_run", lambda cmd, cwd: ran.append(cmd))
    monkeypatch.setattr(apt, "require_apt", lambda: None)
    with pytest.raises(InvalidInputError, match="never used"):
        apt.AptDownloader().download(["codec2-examples", package], tmp_path)
    with pytest.raises(InvalidInputError, match="never used"):
        apt.fetch_packages([package], tmp_path)
    assert ran == []


def test_benchmark_music_may_be_fetched_but_not_into_the_corpus() -> None:
    (package,) = BENCHMARK_PACKAGES
    check_fetchable([package])  # the benchmark fetches it into its own folder
    assert "benchmark" in (reserved_reason(package) or "")


def test_no_registry_source_uses_a_reserved_package() -> None:
    packages = [p for s in SOURCES.values() for p in s.packages]
    assert packages and all(reserved_reason(p) is None for p in packages)
    assert {s.kind for s in SOURCES.values()} == {"speech", "music", "effects"}
    assert all(s.kind == "music" for s in get_sources(kinds=["music"]))


def _tone_track(seconds: float, rate: int = 44100) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    return (0.2 * chord / 3).astype(np.float32)


def test_music_is_kept_without_speech_and_long_tracks_become_pieces(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ef, "PIECE_SECONDS", 4.0)
    monkeypatch.setattr(ef.pieces_from_files, "__defaults__", (4.0,))
    root = tmp_path / "tree"
    track = root / "usr/share/m/theme.ogg"
    track.parent.mkdir(parents=True)
    sf.write(str(track), np.stack([_tone_track(9.5)] * 2, axis=1), 44100, format="OGG")
    write(root / "usr/share/doc/m/copyright", b"License: test\n")

    def fake_fetch(packages: list[str], work: Path, downloader: object = None) -> apt.PackageSet:
        return apt.PackageSet(root=root, versions={"m": "1"}, copyrights={"m": "test"})

    monkeypatch.setattr(apt, "fetch_packages", fake_fetch)
    monkeypatch.setattr(apt, "require_apt", lambda: None)
    registry = {"tunes": _source("tunes", "m")}
    manifest = fetch_corpus(tmp_path / "corpus", registry=registry)
    record = manifest.sources["tunes"]
    assert (record.kind, record.clips) == ("music", 3)
    pieces = sorted((tmp_path / "corpus/tunes/theme").glob("*.flac"))
    assert [p.name for p in pieces] == ["p000.flac", "p001.flac", "p002.flac"]
    assert [round(sf.info(str(p)).duration, 2) for p in pieces] == [4.0, 4.0, 1.5]
    data = json.loads((tmp_path / "corpus/MANIFEST.json").read_text())
    assert data["hours_by_kind"] == {"music": round(9.5 / 3600, 4)}
    assert data["sources"]["tunes"]["kind"] == "music"


def test_only_speech_sources_need_voiced_audio() -> None:
    from wakebuilder.corpus.filters import rejection_reason

    t = np.arange(32000) / 16000
    high_whistle = (0.1 * np.sin(2 * np.pi * 7000 * t)).astype(np.float32)  # VAD: unvoiced
    assert rejection_reason(high_whistle, "speech") == "no_speech"
    assert rejection_reason(high_whistle, "music") is None
    assert rejection_reason(high_whistle[:1000], "music") == "too_short"
    assert rejection_reason(high_whistle * 1e-4, "effects") == "silent"


def test_old_source_records_read_as_speech() -> None:
    from wakebuilder.corpus.model import SourceRecord

    old = {"source": "x", "packages": {}, "licence": "L", "licence_summary": "l",
           "languages": ["en"], "description": "d", "clips": 1, "seconds": 1.0,
           "extracted_at": "2026-01-01T00:00:00+00:00"}
    assert SourceRecord.from_dict(old).kind == "speech"

