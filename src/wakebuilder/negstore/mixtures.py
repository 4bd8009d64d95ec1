"""Mixtures: "TV-like" negative audio made from the real corpus on disk: real speech over real
music (the music 5-15 dB under the speech, like a soundtrack), two voices at once (two speech
sources, 0-6 dB apart) and speech over real sound effects (3-15 dB under the speech).

Leak-free by construction: a mixture is made only from files of ONE split (train, calibration
or held-out, as the store's split plan of the real sources gives them), and its name records
that split and its component sources (:func:`~wakebuilder.negstore.kinds.mixture_name`), so
its split and its exclusion follow its components whenever the index is read (see
:mod:`wakebuilder.negstore.splits`). Deterministic: the same corpus and store give the same
mixtures, sample for sample (each is drawn from its own seed, derived from its name's stable
parts). The store keeps them as source ``mixture``, kind ``mixture``; a build adds only the
missing ones and drops those the current plan no longer asks for.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.audio.io import decode_audio, resample
from wakebuilder.errors import CancelledError, InvalidAudioError
from wakebuilder.negstore.kinds import (
    MIXTURE_KIND,
    MIXTURE_SOURCE,
    mixture_name,
)
from wakebuilder.negstore.splits import CALIBRATION, CORPUS_PREFIX, HELDOUT, TRAIN
from wakebuilder.negstore.store import NegativeStore

_log = logging.getLogger(__name__)

MIXTURE_VERSION = 1
SPEECH_MUSIC = "speech-music"
TWO_VOICES = "two-voices"
SPEECH_EFFECTS = "speech-effects"
MIX_TYPES = (SPEECH_MUSIC, TWO_VOICES, SPEECH_EFFECTS)
TYPE_WEIGHTS = {SPEECH_MUSIC: 0.45, TWO_VOICES: 0.35, SPEECH_EFFECTS: 0.2}
"""Share of each split's mixture hours per type (re-shared among the types a split can make)."""
MIX_SPLITS = (TRAIN, CALIBRATION, HELDOUT)
STREAM_SECONDS = (20.0, 40.0)
"""Length of one mixture, drawn uniformly."""
SPEECH_SHARE = 0.15
"""A split gets mixtures worth this share of its real speech hours ..."""
MAX_SECONDS = {TRAIN: 2700.0, CALIBRATION: 1080.0, HELDOUT: 900.0}
"""... up to these caps (45, 18 and 15 minutes: about 1.3 h in all on the Debian corpus)."""
SPEECH_DBFS = (-30.0, -20.0)
MUSIC_UNDER_DB = (5.0, 15.0)
VOICE_APART_DB = (0.0, 6.0)
EFFECTS_UNDER_DB = (3.0, 15.0)
PEAK = 0.89
"""Mixtures whose peak would exceed this are scaled down (no clipping)."""
MAX_CLIP_SECONDS = 12.0
"""Longest excerpt of one speech or effects file in a mixture."""
COMMIT_EVERY = 16
"""Mixtures embedded between two commits of the index (a cancel keeps the committed ones)."""

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class PoolFile:
    """One corpus file a mixture may draw from."""

    path: Path
    seconds: float


Pools = dict[str, dict[str, list[PoolFile]]]
"""``{kind: {source: files}}`` of one split."""


@dataclass(frozen=True)
class MixtureSpec:
    """One planned mixture: its stored name, split, type, component sources and seed."""

    name: str
    split: str
    mix_type: str
    voices: tuple[str, ...]
    bed: str | None
    seconds: float
    seed: int


def _seed(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def split_pools(store: NegativeStore, negative_dir: Path) -> dict[str, Pools]:
    """Corpus files on disk per split (train, calibration, held-out) and kind (speech, music,
    noise), by source, from the store's split plan of the real sources. Validation files are
    left out (they stay early stopping's alone)."""
    seconds: dict[tuple[str, str], float] = {}
    info: dict[tuple[str, str], tuple[str, str]] = {}
    for e in store.entries():
        if not e.source.startswith(CORPUS_PREFIX) or e.split not in MIX_SPLITS:
            continue
        if e.kind not in ("speech", "music", "noise"):
            continue
        seconds[e.key] = seconds.get(e.key, 0.0) + e.seconds
        info[e.key] = (e.split, e.kind)
    pools: dict[str, Pools] = {s: {} for s in MIX_SPLITS}
    root = Path(negative_dir)
    for key in sorted(info):
        split, kind = info[key]
        path = root / key[1]
        if path.is_file():
            pools[split].setdefault(kind, {}).setdefault(key[0], []).append(
                PoolFile(path, seconds[key]))
    return pools


def _speech_seconds(pools: Pools) -> float:
    return sum(f.seconds for files in pools.get("speech", {}).values() for f in files)


def _possible(pools: Pools) -> list[str]:
    speech = pools.get("speech", {})
    types = []
    if speech and pools.get("music"):
        types.append(SPEECH_MUSIC)
    if len(speech) >= 2:
        types.append(TWO_VOICES)
    if speech and pools.get("noise"):
        types.append(SPEECH_EFFECTS)
    return types


def plan_mixtures(pools_by_split: dict[str, Pools], *,
                  max_seconds: dict[str, float] | None = None,
                  speech_share: float = SPEECH_SHARE) -> list[MixtureSpec]:
    """The mixtures each split should hold: per split, ``speech_share`` of its real speech
    (capped by ``max_seconds``, default :data:`MAX_SECONDS`), shared among the types its
    components allow. Components are drawn from the split's own sources only."""
    caps = MAX_SECONDS if max_seconds is None else max_seconds
    specs: list[MixtureSpec] = []
    for split in MIX_SPLITS:
        pools = pools_by_split.get(split, {})
        types = _possible(pools)
        budget = min(caps.get(split, 0.0), speech_share * _speech_seconds(pools))
        if not types or budget < STREAM_SECONDS[0]:
            continue
        weight = sum(TYPE_WEIGHTS[t] for t in types)
        speech = sorted(pools["speech"])
        for mix_type in types:
            share = budget * TYPE_WEIGHTS[mix_type] / weight
            rng = np.random.default_rng(_seed(f"plan|v{MIXTURE_VERSION}|{split}|{mix_type}"))
            total, i = 0.0, 0
            while total + STREAM_SECONDS[0] <= share:
                seconds = float(rng.uniform(*STREAM_SECONDS))
                voices: tuple[str, ...]
                bed = None
                if mix_type == TWO_VOICES:
                    a, b = rng.choice(len(speech), 2, replace=False)
                    voices = (speech[int(a)], speech[int(b)])
                else:
                    voices = (speech[int(rng.integers(len(speech)))],)
                    beds = sorted(pools["music" if mix_type == SPEECH_MUSIC else "noise"])
                    bed = beds[int(rng.integers(len(beds)))]
                comps = (*voices, bed) if bed else voices
                name = mixture_name(split, mix_type, i, comps, MIXTURE_VERSION)
                specs.append(MixtureSpec(name, split, mix_type, voices, bed, round(seconds, 2),
                                         _seed(f"render|{name}")))
                total += seconds
                i += 1
    return specs


# ----------------------------------------------------------------------------- rendering
def _excerpt(path: Path, max_seconds: float, rng: np.random.Generator) -> Samples:
    """Up to ``max_seconds`` of a file from a random offset, mono 16 kHz."""
    try:
        with sf.SoundFile(str(path)) as fh:
            rate, frames = fh.samplerate, fh.frames
            want = int(max_seconds * rate)
            if frames > want:
                fh.seek(int(rng.integers(0, frames - want + 1)))
            data = fh.read(min(want, frames), dtype="float32", always_2d=True)
        return resample(np.nan_to_num(data.mean(axis=1)).astype(np.float32), rate)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
        samples = decode_audio(path)
        want = int(max_seconds * SAMPLE_RATE)
        start = int(rng.integers(0, max(1, len(samples) - want + 1)))
        return samples[start:start + want]


def _track(files: list[PoolFile], n: int, rng: np.random.Generator,
           gap: tuple[float, float], clip_seconds: float) -> Samples:
    """``n`` samples of excerpts of ``files`` drawn at random, with pauses between them."""
    out = np.zeros(n, np.float32)
    at = int(rng.uniform(0.0, gap[1]) * SAMPLE_RATE)
    tries = 0
    while at < n and tries < 400:
        tries += 1
        f = files[int(rng.integers(len(files)))]
        try:
            clip = _excerpt(f.path, clip_seconds, rng)
        except (InvalidAudioError, OSError) as exc:
            _log.warning("mixture: skipping %s: %s", f.path, exc)
            continue
        clip = clip[: n - at]
        if len(clip) == 0:
            continue
        out[at:at + len(clip)] = clip
        at += len(clip) + int(rng.uniform(*gap) * SAMPLE_RATE)
    return out


def active_rms(x: Samples) -> float:
    """RMS over the 20 ms frames within 40 dB of the loudest (pauses do not count)."""
    frame = SAMPLE_RATE // 50
    n = len(x) // frame
    if n == 0:
        return 0.0
    power = np.square(x[: n * frame].astype(np.float64)).reshape(n, frame).mean(axis=1)
    top = float(power.max())
    if top <= 0:
        return 0.0
    return float(np.sqrt(power[power >= top * 1e-4].mean()))


def _at_level(x: Samples, dbfs: float) -> Samples:
    rms = active_rms(x)
    return x if rms <= 0 else (x * (10 ** (dbfs / 20) / rms)).astype(np.float32)


def render_mixture(spec: MixtureSpec, pools: Pools) -> Samples:
    """The audio of one mixture (deterministic: it depends only on the spec and the files)."""
    rng = np.random.default_rng(spec.seed)
    n = int(spec.seconds * SAMPLE_RATE)
    level = float(rng.uniform(*SPEECH_DBFS))
    speech = pools["speech"]
    mix = _at_level(_track(speech[spec.voices[0]], n, rng, (0.3, 1.5), MAX_CLIP_SECONDS), level)
    if spec.mix_type == TWO_VOICES:
        other = _track(speech[spec.voices[1]], n, rng, (0.2, 1.0), MAX_CLIP_SECONDS)
        mix = mix + _at_level(other, level - float(rng.uniform(*VOICE_APART_DB)))
    elif spec.mix_type == SPEECH_MUSIC and spec.bed is not None:
        music = _track(pools["music"][spec.bed], n, rng, (0.0, 0.5), spec.seconds)
        mix = mix + _at_level(music, level - float(rng.uniform(*MUSIC_UNDER_DB)))
    elif spec.bed is not None:
        effects = _track(pools["noise"][spec.bed], n, rng, (0.0, 1.0), MAX_CLIP_SECONDS)
        mix = mix + _at_level(effects, level - float(rng.uniform(*EFFECTS_UNDER_DB)))
    floor = rng.normal(0.0, 10 ** (rng.uniform(-70, -60) / 20), n)
    mix = (mix + floor).astype(np.float32)
    peak = float(np.max(np.abs(mix))) if n else 0.0
    if peak > PEAK:
        mix = (mix * (PEAK / peak)).astype(np.float32)
    return mix


# ----------------------------------------------------------------------------- the store
def add_mixtures(store: NegativeStore, negative_dir: Path, *,
                 max_seconds: dict[str, float] | None = None,
                 speech_share: float = SPEECH_SHARE,
                 progress: Progress | None = None,
                 should_cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Bring the store's mixtures in line with the plan: drop the mixtures the plan no longer
    holds, embed the missing ones (each committed as it is made, so a cancelled build keeps
    them; raises :class:`CancelledError`). Run after the corpus files are embedded."""
    pools = split_pools(store, negative_dir)
    specs = plan_mixtures(pools, max_seconds=max_seconds, speech_share=speech_share)
    wanted = {s.name for s in specs}
    present = {e.name for e in store.entries() if e.source == MIXTURE_SOURCE}
    dropped = store.drop_files((MIXTURE_SOURCE, n) for n in present - wanted)
    todo = [s for s in specs if s.name not in present]
    added, done = 0.0, 0
    for start in range(0, len(todo), COMMIT_EVERY):
        with store.batch():  # one index write per group of mixtures
            for spec in todo[start:start + COMMIT_EVERY]:
                if should_cancel is not None and should_cancel():
                    break
                samples = render_mixture(spec, pools[spec.split])
                # Held-out mixtures are stored as calibration: never train audio, whatever reads
                # the index; their held-out split is derived from the name.
                store.add_audio(MIXTURE_SOURCE, spec.name, samples, kind=MIXTURE_KIND,
                                split=TRAIN if spec.split == TRAIN else CALIBRATION)
                added += len(samples) / SAMPLE_RATE
                done += 1
                if progress:
                    progress(done / len(todo), f"mixture {done}/{len(todo)}")
        if done < min(len(todo), start + COMMIT_EVERY):
            raise CancelledError("negative store build cancelled",
                                 {"mixtures_done": done, "mixtures_total": len(todo)})
    by_split: dict[str, float] = {}
    for s in specs:
        by_split[s.split] = by_split.get(s.split, 0.0) + s.seconds / 3600
    return {"mixtures": len(specs), "mixtures_added": len(todo), "mixtures_dropped": dropped,
            "mixture_seconds_added": round(added, 1),
            "mixture_hours_by_split": {k: round(v, 3) for k, v in by_split.items()}}
