"""Extractors run on tiny fake package trees: names, rates and durations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wakebuilder.corpus.extract_games import (
    GAME_RATE,
    drascula_extractor,
    extract_bass,
    extract_fotaq,
    parse_qtbl,
    parse_sky_dnr,
)
from wakebuilder.corpus.sources import SOURCES

from .conftest import encoded, make_qtbl, to_u8, voice, write


def test_qtbl_parser_lists_entries() -> None:
    codec, entries = parse_qtbl(make_qtbl([("A.SB", b"12"), ("B.SB", b"345")]))
    assert codec == "mp3"
    assert [(n, s) for n, _, s in entries] == [("A.SB", 2), ("B.SB", 3)]


def test_qtbl_parser_rejects_other_files() -> None:
    with pytest.raises(ValueError, match="QTBL"):
        parse_qtbl(b"RIFF" + b"\0" * 20)


def test_fotaq_extracts_sb_entries_only(fotaq_tree: Path) -> None:
    clips = {c.name: c for c in extract_fotaq(fotaq_tree)}
    assert sorted(clips) == ["0001A", "JOE_0002"]
    assert clips["0001A"].sample_rate == 16000
    assert clips["0001A"].samples.size / 16000 == pytest.approx(1.0, abs=0.1)


def test_bass_extracts_speech_file_numbers(bass_tree: Path) -> None:
    clips = list(extract_bass(bass_tree))
    assert [c.name for c in clips] == ["50001"]
    assert clips[0].sample_rate == GAME_RATE
    assert clips[0].samples.size == int(1.5 * GAME_RATE)
    assert np.abs(clips[0].samples).max() < 0.5


def test_sky_dnr_shifted_offsets() -> None:
    entry = (50000).to_bytes(2, "little") + (0x800000 | 3).to_bytes(3, "little")
    entry += (100).to_bytes(3, "little")
    assert parse_sky_dnr((1).to_bytes(4, "little") + entry) == [(50000, 48, 100)]


def test_bass_unpacks_rnc(tmp_path: Path) -> None:
    propack = pytest.importorskip("propack")
    from .conftest import make_sky

    pcm = to_u8(voice(0.5, GAME_RATE))
    dnr, dsk = make_sky([(50002, bytes(propack.pack(pcm)))])
    write(tmp_path / "usr/share/scummvm/beneath-a-steel-sky/sky.dnr", dnr)
    write(tmp_path / "usr/share/scummvm/beneath-a-steel-sky/sky.dsk", dsk)
    (clip,) = extract_bass(tmp_path)
    assert clip.samples.size == len(pcm)


def test_drascula_skips_effects(tmp_path: Path) -> None:
    folder = tmp_path / "usr/share/scummvm/drascula/en"
    write(folder / "12.ALS", to_u8(voice(0.7, GAME_RATE)))
    write(folder / "S3.ALS", to_u8(voice(0.7, GAME_RATE)))
    write(folder / "12.ALD", b"not audio")
    (folder / "13.ALS").symlink_to("../es/13.ALS")  # dangling, as in drascula-spanish
    clips = list(drascula_extractor("en")(tmp_path))
    assert [c.name for c in clips] == ["12"]
    assert clips[0].samples.size == int(0.7 * GAME_RATE)


def test_asterisk_wav_skips_silence_folder(tmp_path: Path) -> None:
    base = tmp_path / "usr/share/asterisk/sounds/en_US_f_Allison"
    write(base / "digits/1.wav", encoded(voice(0.6, 8000), 8000, "WAV"))
    write(base / "silence/1.wav", encoded(np.zeros(8000, np.float32), 8000, "WAV"))
    clips = list(SOURCES["asterisk-en"].extractor(tmp_path))
    assert [c.name for c in clips] == ["digits/1"]
    assert clips[0].samples.size / clips[0].sample_rate == pytest.approx(0.6, abs=0.01)


def test_fillets_ogg_only_language_folder(tmp_path: Path) -> None:
    base = tmp_path / "usr/share/games/fillets-ng/sound"
    write(base / "gods/cs/gods-1.ogg", encoded(voice(1.0, 22050), 22050, "OGG"))
    write(base / "gods/nl/gods-1.ogg", encoded(voice(1.0, 22050), 22050, "OGG"))
    write(base / "share/music.ogg", encoded(voice(1.0, 22050), 22050, "OGG"))
    clips = list(SOURCES["fillets-cs"].extractor(tmp_path))
    assert [c.name for c in clips] == ["gods/cs/gods-1"]
    assert clips[0].samples.size / clips[0].sample_rate == pytest.approx(1.0, abs=0.05)


def test_missing_folder_is_an_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="usr/share/klettres"):
        list(SOURCES["klettres"].extractor(tmp_path))


def test_gsm_prompt_decodes(tmp_path: Path) -> None:
    path = tmp_path / "usr/share/asterisk/sounds/fr/bonjour.gsm"
    path.parent.mkdir(parents=True)
    sf.write(str(path), voice(0.5, 8000), 8000, format="RAW", subtype="GSM610")
    (clip,) = SOURCES["asterisk-fr-armelle"].extractor(tmp_path)
    assert (clip.name, clip.sample_rate, clip.samples.size) == ("fr/bonjour", 8000, 4000)
