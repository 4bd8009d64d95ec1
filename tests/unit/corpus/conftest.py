"""Fake Debian package trees for the corpus tests (no network, no apt)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def voice(seconds: float, rate: int) -> np.ndarray:
    """A harmonic, amplitude-modulated tone that WebRTC VAD calls speech."""
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 3 * t)) / rate
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 20) if k * 160 < rate / 2)
    x = harmonics * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def to_u8(x: np.ndarray) -> bytes:
    return np.clip(np.round(x * 128 + 128), 0, 255).astype(np.uint8).tobytes()


def encoded(x: np.ndarray, rate: int, fmt: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt)
    return buf.getvalue()


def make_qtbl(entries: list[tuple[str, bytes]]) -> bytes:
    """A QTBL bundle (MP3 compression) holding ``entries``."""
    header = b"QTBL" + b"CEM10\0\0\0" + bytes([1]) + struct.pack(">H", len(entries))
    offset = len(header) + 21 * len(entries)
    table, blobs = b"", b""
    for name, data in entries:
        table += name.encode().ljust(12, b"\0") + b"\x01" + struct.pack(">II", offset, len(data))
        offset += len(data)
        blobs += data
    return header + table + blobs


def make_sky(entries: list[tuple[int, bytes]]) -> tuple[bytes, bytes]:
    """A (sky.dnr, sky.dsk) pair; each file gets a 22-byte header before its data."""
    dnr, dsk = struct.pack("<I", len(entries)), b""
    for number, data in entries:
        body = b"\0" * 22 + data
        dnr += struct.pack("<H", number) + len(dsk).to_bytes(3, "little")
        dnr += len(body).to_bytes(3, "little")
        dsk += body
    return dnr, dsk


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def fotaq_tree(tmp_path: Path) -> Path:
    bundle = make_qtbl([("0001A.SB", encoded(voice(1.0, 11025), 11025, "MP3")),
                        ("JOE_0002.SB", encoded(voice(0.8, 11025), 11025, "MP3")),
                        ("ROOM1.PCX", b"not audio")])
    write(tmp_path / "usr/share/scummvm/flight-of-the-amazon-queen/queen.1c", bundle)
    return tmp_path


@pytest.fixture
def bass_tree(tmp_path: Path) -> Path:
    dnr, dsk = make_sky([(12, b"graphics"), (50001, to_u8(voice(1.5, 11025)))])
    write(tmp_path / "usr/share/scummvm/beneath-a-steel-sky/sky.dnr", dnr)
    write(tmp_path / "usr/share/scummvm/beneath-a-steel-sky/sky.dsk", dsk)
    return tmp_path
