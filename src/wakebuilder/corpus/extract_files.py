"""Extractors for packages that ship ordinary audio files (Ogg, Opus, WAV, GSM, raw PCM)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile as sf

from wakebuilder.audio.format import SAMPLE_RATE
from wakebuilder.audio.io import LOCAL_LIMITS, decode_audio, iter_audio
from wakebuilder.corpus.model import Extractor, RawClip
from wakebuilder.errors import InvalidAudioError

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = frozenset({".wav", ".ogg", ".oga", ".opus", ".flac", ".mp3", ".gsm", ".raw"})
PIECE_SECONDS = 300.0
"""Long tracks (music) are stored in pieces of at most this length."""


def read_audio_file(path: Path) -> tuple[np.ndarray, int]:
    """Read one packaged audio file as mono float32; raw ``.gsm`` is GSM 6.10 at 8 kHz,
    raw ``.raw`` is signed 16-bit little-endian PCM at 16 kHz (pocketsphinx test data)."""
    suffix = path.suffix.lower()
    if suffix == ".gsm":
        data, rate = sf.read(str(path), format="RAW", subtype="GSM610", samplerate=8000,
                             channels=1, dtype="float32")
        return np.asarray(data, dtype=np.float32), int(rate)
    if suffix == ".raw":
        pcm = np.fromfile(path, dtype="<i2")
        return (pcm.astype(np.float32) / 32768.0), SAMPLE_RATE
    return decode_audio(path), SAMPLE_RATE


def clips_from_files(root: Path, files: Iterable[Path], base: Path) -> Iterator[RawClip]:
    """Decode ``files``; each clip is named by its path relative to ``base``, sans suffix.

    A file that cannot be decoded is logged and skipped (it is counted as dropped)."""
    for path in sorted(files):
        rel = PurePosixPath(path.relative_to(base).as_posix())
        try:
            samples, rate = read_audio_file(path)
        except (InvalidAudioError, sf.LibsndfileError, OSError, ValueError) as exc:
            log.warning("skipping undecodable %s: %s", path.relative_to(root), exc)
            yield RawClip(str(rel.with_suffix("")), np.zeros(0, np.float32), SAMPLE_RATE)
            continue
        yield RawClip(str(rel.with_suffix("")), samples, rate)


def pieces_from_files(root: Path, files: Iterable[Path], base: Path,
                      piece_s: float = PIECE_SECONDS) -> Iterator[RawClip]:
    """Decode long files of any length block by block and yield pieces of at most
    ``piece_s`` seconds, named ``<relative path sans suffix>/pNNN``; an undecodable file is
    logged and counted as dropped."""
    piece = int(piece_s * SAMPLE_RATE)
    unbounded = LOCAL_LIMITS.with_max_seconds(None)
    for path in sorted(files):
        stem = str(PurePosixPath(path.relative_to(base).as_posix()).with_suffix(""))
        buf: list[np.ndarray] = []
        held, index = 0, 0
        try:
            for block in iter_audio(path, path.name, unbounded):
                buf.append(block)
                held += block.size
                while held >= piece:
                    joined = np.concatenate(buf)
                    yield RawClip(f"{stem}/p{index:03d}", joined[:piece], SAMPLE_RATE)
                    index += 1
                    buf, held = [joined[piece:]], joined.size - piece
        except (InvalidAudioError, OSError, ValueError) as exc:
            log.warning("skipping the rest of %s: %s", path.relative_to(root), exc)
            yield RawClip(f"{stem}/p{index:03d}", np.zeros(0, np.float32), SAMPLE_RATE)
            continue
        if held:
            yield RawClip(f"{stem}/p{index:03d}", np.concatenate(buf), SAMPLE_RATE)


def glob_extractor(base: str, patterns: tuple[str, ...],
                   keep: Callable[[PurePosixPath], bool] | None = None, *,
                   long_files: bool = False) -> Extractor:
    """Build an extractor for audio files matching ``patterns`` (globs relative to ``base``).

    ``base`` is a folder inside the unpacked tree (``usr/share/asterisk/sounds``); clips are
    named relative to it. ``keep`` filters by the relative path. ``long_files`` (music)
    decodes tracks of any length in blocks and stores them in pieces (:func:`pieces_from_files`).
    """

    def extract(root: Path) -> Iterator[RawClip]:
        folder = root / base
        if not folder.is_dir():
            raise FileNotFoundError(f"expected folder {base} is missing from the package")
        found: set[Path] = set()
        for pattern in patterns:
            for path in folder.glob(pattern):
                rel = PurePosixPath(path.relative_to(folder).as_posix())
                if (path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES
                        and (keep is None or keep(rel))):
                    found.add(path)
        if not found:
            raise FileNotFoundError(f"no audio matching {patterns} under {base}")
        if long_files:
            yield from pieces_from_files(root, found, folder)
        else:
            yield from clips_from_files(root, found, folder)

    return extract
