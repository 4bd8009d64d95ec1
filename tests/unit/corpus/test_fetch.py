"""fetch_corpus with the apt layer replaced by fake package trees."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wakebuilder.corpus import apt, fetch, fetch_corpus
from wakebuilder.corpus.extract_games import drascula_extractor
from wakebuilder.corpus.model import AptUnavailableError, CorpusSource
from wakebuilder.corpus.sources import SOURCES

from .conftest import encoded, to_u8, voice, write


def _fake_tree(packages: list[str], work: Path) -> apt.PackageSet:
    root = work / "root"
    if packages == ["drascula"]:
        folder = root / "usr/share/scummvm/drascula/en"
        write(folder / "1.ALS", to_u8(voice(1.2, 11025)))
        write(folder / "2.ALS", to_u8(voice(0.2, 11025)))  # too short
        write(folder / "3.ALS", to_u8(np.zeros(11025, np.float32)))  # silent
        write(folder / "4.ALS", to_u8(voice(1.2, 11025)))  # duplicate of 1
    elif packages == ["asterisk-core-sounds-en-wav"]:
        base = root / "usr/share/asterisk/sounds/en_US_f_Allison"
        write(base / "hello.wav", encoded(voice(0.9, 8000), 8000, "WAV"))
    else:
        raise apt.AptError(f"apt-get download {' '.join(packages)} failed: E: Unable to locate")
    write(root / f"usr/share/doc/{packages[0]}/copyright", b"License: test-licence\n")
    return apt.PackageSet(root=root, versions={packages[0]: "1.0-1"},
                          copyrights={packages[0]: "License: test-licence\n"})


@pytest.fixture
def fake_apt(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def fake_fetch(packages: list[str], work: Path, downloader: object = None) -> apt.PackageSet:
        calls.append(packages)
        return _fake_tree(packages, work)

    monkeypatch.setattr(apt, "fetch_packages", fake_fetch)
    monkeypatch.setattr(apt, "require_apt", lambda: None)
    return calls


REGISTRY = {
    "drascula-en": SOURCES["drascula-en"],
    "broken": CorpusSource(id="broken", packages=("no-such-package",), licence="X",
                           licence_summary="x", languages=("en",), description="fails",
                           extractor=drascula_extractor("en")),
    "asterisk-en": SOURCES["asterisk-en"],
}


def test_fetch_writes_flac_manifest_and_licences(tmp_path: Path, fake_apt: list) -> None:
    events = []
    manifest = fetch_corpus(tmp_path, registry=REGISTRY, progress=events.append,
                            work_dir=tmp_path)
    assert set(manifest.sources) == {"drascula-en", "asterisk-en"}
    assert "Unable to locate" in manifest.failures["broken"]
    assert any(e.stage == "failed" and e.source == "broken" for e in events)

    record = manifest.sources["drascula-en"]
    assert record.clips == 1
    assert record.dropped == {"too_short": 1, "silent": 1, "duplicate": 1}
    assert record.packages == {"drascula": "1.0-1"}
    info = sf.info(str(tmp_path / "drascula-en/1.flac"))
    assert (info.samplerate, info.channels, info.format, info.subtype) == (
        16000, 1, "FLAC", "PCM_16")
    assert info.duration == pytest.approx(1.2, abs=0.01)
    assert (tmp_path / "asterisk-en/hello.flac").is_file()
    assert (tmp_path / "drascula-en/copyright/drascula").is_file()

    data = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert data["sources"]["asterisk-en"]["licence"] == "CC-BY-SA-3.0"
    assert data["sources"]["drascula-en"]["seconds"] == pytest.approx(1.2, abs=0.01)
    assert data["sources"]["drascula-en"]["extracted_at"]
    assert "broken" in data["failures"]
    licences = (tmp_path / "LICENSES.md").read_text()
    assert "Drascula-License" in licences and "CC-BY-SA-3.0" in licences
    assert "broken" in licences


def test_complete_sources_are_skipped(tmp_path: Path, fake_apt: list) -> None:
    fetch_corpus(tmp_path, registry=REGISTRY, sources=["drascula-en"])
    fake_apt.clear()
    manifest = fetch_corpus(tmp_path, registry=REGISTRY)
    assert manifest.skipped == ["drascula-en"]
    # quick, diverse sources first (corpus.order), then the rest
    assert fake_apt == [["asterisk-core-sounds-en-wav"], ["no-such-package"]]
    assert manifest.sources["drascula-en"].clips == 1


def test_a_failing_package_is_skipped_logged_and_retried_on_rerun(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[list[str]] = []
    network_down = {"no-such-package": 2, "drascula": 1}  # transient failures left

    def flaky_fetch(packages: list[str], work: Path, downloader: object = None
                    ) -> apt.PackageSet:
        calls.append(packages)
        if network_down.get(packages[0], 0) > 0:
            network_down[packages[0]] -= 1
            raise apt.AptError(f"apt-get download {packages[0]} failed: E: Failed to fetch "
                               "http://deb.debian.org/x.deb Temporary failure resolving")
        if packages == ["no-such-package"]:
            return _fake_tree(["drascula"], work)
        return _fake_tree(packages, work)

    monkeypatch.setattr(apt, "fetch_packages", flaky_fetch)
    monkeypatch.setattr(apt, "require_apt", lambda: None)
    monkeypatch.setattr(fetch, "RETRY_DELAY_S", 0.0)
    with caplog.at_level("WARNING", logger="wakebuilder.corpus.fetch"):
        first = fetch_corpus(tmp_path, registry=REGISTRY)
    # drascula failed once and succeeded on the retry; "broken" failed twice and is missing
    assert set(first.sources) == {"drascula-en", "asterisk-en"}
    assert "Temporary failure" in first.failures["broken"]
    assert calls.count(["drascula"]) == 2 and calls.count(["no-such-package"]) == 2
    assert any("missing broken" in r.getMessage() and "rerun" in r.getMessage()
               for r in caplog.records)
    calls.clear()
    again = fetch_corpus(tmp_path, registry=REGISTRY)  # the rerun resumes: only "broken"
    assert calls == [["no-such-package"]]
    assert sorted(again.skipped) == ["asterisk-en", "drascula-en"]
    assert "broken" in again.sources and not again.failures


def test_unknown_source_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="known"):
        fetch_corpus(tmp_path, sources=["nope"])


def test_missing_apt_raises_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apt.shutil, "which", lambda tool: None)
    with pytest.raises(AptUnavailableError, match="apt-get"):
        fetch_corpus(tmp_path, sources=["codec2"])


def test_apt_update_runs_once_only_when_lists_are_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        if cmd[1] == "download" and ["apt-get", "update"] not in calls:
            return subprocess.CompletedProcess(cmd, 100, "", "E: Unable to locate package x")
        if cmd[1] == "download":
            (cwd / "x_1.0_all.deb").write_bytes(b"")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(apt, "_run", fake_run)
    monkeypatch.setattr(apt, "require_apt", lambda: None)
    debs = apt.AptDownloader().download(["x"], tmp_path)
    assert [d.name for d in debs] == ["x_1.0_all.deb"]
    assert [c[1] for c in calls] == ["download", "update", "download"]
