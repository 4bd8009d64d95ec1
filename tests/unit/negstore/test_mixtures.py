"""Mixtures ("TV-like" negatives): made from one split's components only, their split and
exclusion follow their components, deterministic, incremental; corpus splits follow the
current source policy without re-embedding."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from wakebuilder.audio.format import FRAME_SAMPLES, SAMPLE_RATE
from wakebuilder.audio.io import write_wav
from wakebuilder.corpus.local import source_of
from wakebuilder.errors import CancelledError
from wakebuilder.features.frontend import EMBEDDING_DIM
from wakebuilder.negstore.index import NegativeEntry
from wakebuilder.negstore.kinds import (
    KINDS,
    MIXTURE_KIND,
    MIXTURE_SOURCE,
    mixture_components,
    mixture_name,
)
from wakebuilder.negstore.mixtures import (
    PEAK,
    SPEECH_EFFECTS,
    SPEECH_MUSIC,
    TWO_VOICES,
    active_rms,
    add_mixtures,
    plan_mixtures,
    render_mixture,
    split_pools,
)
from wakebuilder.negstore.source import NegativeSource, background_files
from wakebuilder.negstore.splits import (
    CALIBRATION,
    CALIBRATION_SOURCES,
    HELDOUT,
    SPLITS,
    TRAIN,
    VALIDATION,
    SplitPlan,
)
from wakebuilder.negstore.store import NegativeStore

# (source, files, seconds per file): speech, music, effects; calibration and other sources.
CORPUS = [
    ("corpus/drascula-en", 6, 4.0), ("corpus/ktuberling", 6, 3.0),  # calibration speech
    ("corpus/bass", 6, 4.0), ("corpus/fotaq", 12, 4.0), ("corpus/fillets-cs", 12, 4.0),
    ("corpus/gcin", 4, 3.0), ("corpus/klettres", 12, 4.0),
    ("corpus/music-xmoto", 2, 30.0), ("corpus/music-frozen-bubble", 2, 30.0),  # calibration
    ("corpus/music-warzone2100", 6, 30.0), ("corpus/music-supertux", 3, 30.0),
    ("corpus/music-etr", 2, 30.0),
    ("corpus/effects-lincity", 30, 2.0),
]
SMALL = {TRAIN: 150.0, CALIBRATION: 80.0, HELDOUT: 80.0}
SHARE = 2.0  # the tiny corpus needs a larger share than the real one to get a few mixtures


def fake_embed(samples: np.ndarray) -> np.ndarray:
    """Column 0 = 100 x frame mean (tells signals apart), the rest constant."""
    n = len(samples) // FRAME_SAMPLES
    out = np.full((n, EMBEDDING_DIM), 0.5, np.float32)
    out[:, 0] = np.asarray(samples[:n * FRAME_SAMPLES], np.float32).reshape(
        n, FRAME_SAMPLES).mean(axis=1) * 100
    return out


def refuse_embed(samples: np.ndarray) -> np.ndarray:
    raise AssertionError("nothing should be embedded")


def _signal(source: str, i: int, seconds: float) -> np.ndarray:
    """Loud, source-specific audio: tone bursts (speech-like on/off) or a chord (music)."""
    rng = np.random.default_rng(zlib.crc32(f"{source}/{i}".encode()))
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 120 + 40 * (sum(map(ord, source)) % 17) + 5 * i
    if "music-" in source:
        x = sum(np.sin(2 * np.pi * f0 * k * t) for k in (1, 1.25, 1.5)) / 3
    else:
        x = np.sin(2 * np.pi * f0 * t) * (np.sin(2 * np.pi * 2.5 * t) > 0)
    return (0.95 * x + 0.02 * rng.normal(size=len(t))).clip(-1, 1).astype(np.float32)


def make_corpus(negative_dir: Path) -> list[tuple[str, Path]]:
    files = []
    for source, count, seconds in CORPUS:
        for i in range(count):
            rel = f"{source}/f{i:02d}.wav"
            files.append((source, write_wav(negative_dir / rel, _signal(source, i, seconds))))
    return files


def build(root: Path) -> tuple[NegativeStore, Path]:
    negative_dir = root / "negative"
    files = make_corpus(negative_dir)
    store = NegativeStore(root / "store", embedder=fake_embed)
    store.build_from_files(files, root=negative_dir)
    add_mixtures(store, negative_dir, max_seconds=SMALL, speech_share=SHARE)
    return store, negative_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[NegativeStore, Path]:
    return build(tmp_path_factory.mktemp("mix"))


def source_splits(store: NegativeStore) -> dict[str, set[str]]:
    """Effective splits of each real source's files."""
    out: dict[str, set[str]] = {}
    for e in store.entries():
        if e.source != MIXTURE_SOURCE:
            out.setdefault(e.source, set()).add(e.split)
    return out


def mixtures(store: NegativeStore, **kw: object) -> list[NegativeEntry]:
    return [e for e in store.entries(**kw) if e.source == MIXTURE_SOURCE]  # type: ignore[arg-type]


def test_every_split_gets_mixtures_of_its_own_sources_only(built: tuple[NegativeStore, Path]
                                                           ) -> None:
    store, _ = built
    mixes = mixtures(store)
    assert {e.kind for e in mixes} == {MIXTURE_KIND} and MIXTURE_KIND in KINDS
    assert {TRAIN, CALIBRATION, HELDOUT} <= {e.split for e in mixes}
    types = {e.name.split("/")[2] for e in mixes}
    assert types == {SPEECH_MUSIC, TWO_VOICES, SPEECH_EFFECTS}
    splits = source_splits(store)
    for e in mixes:
        comps = mixture_components(e.name)
        assert comps and e.name.split("/")[1] == (TRAIN if e.split == VALIDATION else e.split)
        for c in comps:
            if e.split == HELDOUT:
                assert splits[c] == {HELDOUT}, (e.name, c)
            elif e.split == CALIBRATION:
                assert CALIBRATION in splits[c] and HELDOUT not in splits[c], (e.name, c)
                assert c in CALIBRATION_SOURCES or c.startswith("corpus/effects-")
            else:
                assert splits[c] & {TRAIN, VALIDATION} and HELDOUT not in splits[c]
                assert c not in CALIBRATION_SOURCES
    two = [e for e in mixes if "/two-voices/" in e.name]
    assert all(len(mixture_components(e.name)) == 2 for e in two)
    info = store.stats()
    assert all(info["by_split_kind"][s].get(MIXTURE_KIND, 0) > 0
               for s in (TRAIN, CALIBRATION, HELDOUT))


def test_excluding_a_component_drops_its_mixtures_everywhere(
        built: tuple[NegativeStore, Path]) -> None:
    store, negative_dir = built
    held = [e for e in mixtures(store) if e.split == HELDOUT]
    assert held
    victim = mixture_components(held[0].name)[0]
    files = background_files(store, negative_dir, exclude_sources=(victim,))
    neg = NegativeSource(store, None, files, exclude=(victim,))
    for split in SPLITS:
        left = [e for e in neg.entries(split) if e.source == MIXTURE_SOURCE]
        assert not any(victim in mixture_components(e.name) for e in left)
        assert all(e.source != victim for e in neg.entries(split))
    assert held[0].key not in {e.key for e in neg.entries()}
    assert mixtures(store, exclude_sources=("corpus/drascula-en", "corpus/bass")) != []
    assert not any(source_of(f, negative_dir) == victim for f in neg.negative_files)
    assert not any(MIXTURE_SOURCE in str(f) for f in neg.negative_files)  # never raw audio
    assert mixtures(store, exclude_sources=("corpus/",)) == []
    # windows drawn for training never come from a held-out mixture
    assert neg.sample_windows(200, np.random.default_rng(0)).shape[0] == 200


def test_only_sources_keeps_a_mixture_only_when_all_its_components_are_kept(
        built: tuple[NegativeStore, Path]) -> None:
    store, _ = built
    assert mixtures(store, only_sources=("generated",)) == []
    assert len(mixtures(store, only_sources=("corpus/",))) == len(mixtures(store))


def test_mixtures_are_deterministic_and_the_build_incremental(
        built: tuple[NegativeStore, Path], tmp_path: Path) -> None:
    store, negative_dir = built
    again, _ = build(tmp_path)
    first = {e.key: store.embeddings(e) for e in mixtures(store)}
    second = {e.key: again.embeddings(e) for e in mixtures(again)}
    assert first.keys() == second.keys()
    assert all(np.array_equal(first[k], second[k]) for k in first)
    report = add_mixtures(NegativeStore(again.root, embedder=refuse_embed),
                          tmp_path / "negative", max_seconds=SMALL, speech_share=SHARE)
    assert report["mixtures_added"] == 0 and report["mixtures_dropped"] == 0
    assert report["mixtures"] == len(first)
    # a smaller plan drops what it no longer holds, and embeds nothing
    report = add_mixtures(NegativeStore(again.root, embedder=refuse_embed),
                          tmp_path / "negative", max_seconds={TRAIN: 0.0},
                          speech_share=SHARE)
    assert report["mixtures_added"] == 0 and report["mixtures_dropped"] == len(first)
    assert mixtures(NegativeStore(again.root)) == []


def test_render_has_realistic_levels_and_never_clips(built: tuple[NegativeStore, Path]) -> None:
    store, negative_dir = built
    pools = split_pools(store, negative_dir)
    specs = plan_mixtures(pools, max_seconds=SMALL, speech_share=SHARE)
    assert specs
    for spec in specs[:6]:
        x = render_mixture(spec, pools[spec.split])
        assert len(x) == int(spec.seconds * SAMPLE_RATE)
        assert np.max(np.abs(x)) <= PEAK + 1e-6
        assert -36.0 < 20 * np.log10(active_rms(x)) < -10.0
        assert np.array_equal(x, render_mixture(spec, pools[spec.split]))


def test_a_mixture_with_a_held_out_component_is_held_out() -> None:
    name = mixture_name(TRAIN, TWO_VOICES, 0, ["corpus/fotaq", "corpus/bass"])
    entry = NegativeEntry(MIXTURE_SOURCE, name, 0, 0, 100, 30.0, TRAIN, MIXTURE_KIND, "x")
    assert SplitPlan(frozenset({"corpus/bass"}), frozenset()).split_of(entry) == HELDOUT
    assert SplitPlan(frozenset(), frozenset()).split_of(entry) == TRAIN
    calib = mixture_name(TRAIN, TWO_VOICES, 1, ["corpus/fotaq", "corpus/drascula-en"])
    entry = NegativeEntry(MIXTURE_SOURCE, calib, 0, 0, 100, 30.0, TRAIN, MIXTURE_KIND, "x")
    assert SplitPlan(frozenset(), frozenset()).split_of(entry) == CALIBRATION


def test_corpus_splits_follow_the_current_policy_without_re_embedding(
        built: tuple[NegativeStore, Path], tmp_path: Path) -> None:
    store, _ = built
    root = tmp_path / "old"
    shutil.copytree(store.root, root, ignore=shutil.ignore_patterns(".lock"))
    raw = json.loads((root / "index.json").read_text())
    for e in raw["entries"]:  # as an older build stored them: real music all train
        if e["source"].startswith("corpus/music-"):
            e["split"] = TRAIN
    (root / "index.json").write_text(json.dumps(raw))
    old = NegativeStore(root, embedder=refuse_embed)
    splits = source_splits(old)
    assert splits["corpus/music-xmoto"] == {CALIBRATION}
    assert splits["corpus/music-frozen-bubble"] == {CALIBRATION}
    effects = splits["corpus/effects-lincity"]
    assert CALIBRATION in effects and effects & {TRAIN, VALIDATION}
    assert old.split_plan() == store.split_plan()


def test_a_cancelled_build_keeps_what_it_committed_and_resumes(tmp_path: Path) -> None:
    negative_dir = tmp_path / "negative"
    files = make_corpus(negative_dir)
    store = NegativeStore(tmp_path / "store", embedder=fake_embed)
    store.build_from_files(files, root=negative_dir)
    calls = []

    def cancel_after_two() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(CancelledError):
        add_mixtures(store, negative_dir, max_seconds=SMALL, speech_share=SHARE,
                     should_cancel=cancel_after_two)
    assert len(mixtures(NegativeStore(store.root))) == 2
    report = add_mixtures(NegativeStore(store.root, embedder=fake_embed), negative_dir,
                          max_seconds=SMALL, speech_share=SHARE)
    assert report["mixtures_added"] == report["mixtures"] - 2
    assert len(mixtures(NegativeStore(store.root))) == report["mixtures"]
