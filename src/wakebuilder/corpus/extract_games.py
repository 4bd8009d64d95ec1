"""Extractors for ScummVM game data: FOTAQ's QTBL bundle, BASS's sky.dsk and Drascula's ALS."""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE
from wakebuilder.audio.io import decode_audio
from wakebuilder.corpus.model import Extractor, RawClip
from wakebuilder.errors import InvalidAudioError

log = logging.getLogger(__name__)

FOTAQ_BUNDLE = "usr/share/scummvm/flight-of-the-amazon-queen/queen.1c"
BASS_DIR = "usr/share/scummvm/beneath-a-steel-sky"
DRASCULA_DIR = "usr/share/scummvm/drascula"
GAME_RATE = 11025
_QTBL_ENTRY = 21
_SKY_HEADER = 22
_SKY_SPEECH = range(50000, 60000)


def u8_to_float(data: bytes) -> np.ndarray:
    """Unsigned 8-bit PCM bytes to float32 in [-1, 1)."""
    return (np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0


def parse_qtbl(blob: bytes) -> tuple[str, list[tuple[str, int, int]]]:
    """Parse a ScummVM Queen ``QTBL`` bundle: returns (codec, [(name, offset, size)])."""
    if blob[:4] != b"QTBL" or len(blob) < 15:
        raise ValueError("not a QTBL bundle (queen.1c header missing)")
    codec = {0: "raw", 1: "mp3", 2: "ogg", 3: "flac"}.get(blob[12])
    if codec is None:
        raise ValueError(f"unknown QTBL compression type {blob[12]}")
    count = struct.unpack(">H", blob[13:15])[0]
    entries, pos = [], 15
    for _ in range(count):
        raw = blob[pos:pos + _QTBL_ENTRY]
        if len(raw) < _QTBL_ENTRY:
            raise ValueError("QTBL table is truncated")
        name = raw[:12].split(b"\0")[0].decode("ascii", errors="replace")
        offset, size = struct.unpack(">II", raw[13:21])
        entries.append((name, offset, size))
        pos += _QTBL_ENTRY
    return codec, entries


def extract_fotaq(root: Path) -> Iterator[RawClip]:
    """Speech (``*.SB`` entries, MP3 in Debian's build) of Flight of the Amazon Queen."""
    blob = (root / FOTAQ_BUNDLE).read_bytes()
    codec, entries = parse_qtbl(blob)
    for name, offset, size in entries:
        if not name.upper().endswith(".SB"):
            continue
        stem = name[:-3]
        data = blob[offset:offset + size]
        if codec == "raw":
            yield RawClip(stem, u8_to_float(data), GAME_RATE)
            continue
        try:
            yield RawClip(stem, decode_audio(data, name=name), SAMPLE_RATE)
        except InvalidAudioError as exc:
            log.warning("skipping undecodable FOTAQ entry %s: %s", name, exc)
            yield RawClip(stem, np.zeros(0, np.float32), SAMPLE_RATE)


def parse_sky_dnr(dnr: bytes) -> list[tuple[int, int, int]]:
    """Parse BASS's ``sky.dnr``: [(file number, byte offset in sky.dsk, size)]."""
    count = struct.unpack("<I", dnr[:4])[0]
    if len(dnr) < 4 + 8 * count:
        raise ValueError("sky.dnr is truncated")
    out = []
    for i in range(count):
        entry = dnr[4 + 8 * i:12 + 8 * i]
        number = struct.unpack("<H", entry[:2])[0]
        offset = int.from_bytes(entry[2:5], "little")
        flags = int.from_bytes(entry[5:8], "little")
        if offset & 0x800000:
            offset = (offset & 0x7FFFFF) << 4
        out.append((number, offset, flags & 0x3FFFFF))
    return out


def _rnc_unpack(data: bytes) -> bytes:
    try:
        import propack
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("Beneath a Steel Sky speech is RNC-packed: install the "
                           "'propack' package (pip install propack)") from exc
    return bytes(propack.unpack(data))


def extract_bass(root: Path) -> Iterator[RawClip]:
    """Speech (files 50000-59999 of ``sky.dsk``, raw or RNC-packed u8) of Beneath a Steel Sky."""
    folder = root / BASS_DIR
    dnr = (folder / "sky.dnr").read_bytes()
    dsk = (folder / "sky.dsk").read_bytes()
    for number, offset, size in parse_sky_dnr(dnr):
        if number not in _SKY_SPEECH:
            continue
        pcm = dsk[offset + _SKY_HEADER:offset + size]
        if pcm[:3] == b"RNC":
            try:
                pcm = _rnc_unpack(pcm)
            except (ValueError, IndexError, AssertionError) as exc:
                log.warning("skipping BASS speech file %d: RNC unpack failed (%s)", number, exc)
                pcm = b""
        yield RawClip(str(number), u8_to_float(pcm), GAME_RATE)


def drascula_extractor(language: str) -> Extractor:
    """Extractor for Drascula's ``<language>/*.ALS`` voice files (raw u8, 11025 Hz).

    ``S*.ALS`` files are sound effects and are skipped, and so are symlinks: the language
    packages link a few files to ``../en/``, which belong to the English source."""

    def extract(root: Path) -> Iterator[RawClip]:
        folder = root / DRASCULA_DIR / language
        files = sorted(p for p in folder.glob("*") if p.suffix.upper() == ".ALS")
        if not files:
            raise FileNotFoundError(f"no .ALS files under {DRASCULA_DIR}/{language}")
        for path in files:
            if path.name.upper().startswith("S") or path.is_symlink():
                continue
            yield RawClip(path.stem, u8_to_float(path.read_bytes()), GAME_RATE)

    return extract

