"""The negative store's four splits, the exclusion rule and generated-only selection."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from wakebuilder.audio.format import FRAME_SAMPLES, SAMPLE_RATE
from wakebuilder.audio.io import write_wav
from wakebuilder.augment.noise import NOISE_KINDS
from wakebuilder.corpus.local import source_of
from wakebuilder.corpus.sources import SOURCES
from wakebuilder.features.frontend import EMBEDDING_DIM
from wakebuilder.negstore.build import cache_info
from wakebuilder.negstore.generated import GENERATED_VERSION, MUSIC_STREAMS
from wakebuilder.negstore.index import NegativeEntry
from wakebuilder.negstore.kinds import GENERATED_SOURCE, guess_kind, source_matches
from wakebuilder.negstore.source import open_negatives
from wakebuilder.negstore.splits import (
    CALIBRATION,
    CALIBRATION_SOURCES,
    HELDOUT,
    HELDOUT_CAP,
    HELDOUT_MAX,
    HELDOUT_MIN,
    SPLITS,
    TRAIN,
    VALIDATION,
    file_split,
    plan_splits,
    unit_of,
)
from wakebuilder.negstore.store import NegativeStore

# Minutes of audio per corpus source (speech: measured, /work/shared/REAL-SPEECH.md; music and
# effects: the registry's descriptions).
CORPUS_MINUTES = {
    "fotaq": 278.4, "fillets-cs": 105.7, "fillets-nl": 95.8, "asterisk-en": 25.5,
    "asterisk-es": 31.0, "asterisk-fr": 26.0, "asterisk-it": 23.8, "asterisk-ru": 24.8,
    "drascula-en": 48.7, "drascula-es": 43.5, "drascula-it": 49.1, "bass": 129.9,
    "asterisk-it-menardi": 24.8, "asterisk-fr-armelle": 15.1, "asterisk-es-co": 10.2,
    "klettres": 51.3, "ktuberling": 32.4, "gcin": 13.7, "codec2": 4.5, "pocketsphinx": 0.6,
    "music-warzone2100": 246.0, "music-supertux": 102.0, "music-xmoto": 12.0,
    "music-frozen-bubble": 12.0, "music-etr": 10.0, "music-lincity": 9.0,
    "effects-lincity": 8.0,
}


def corpus_entries(files_per_source: int = 30) -> list[NegativeEntry]:
    """Index entries shaped like a store holding the whole Debian corpus."""
    out = []
    for sid, minutes in CORPUS_MINUTES.items():
        source = f"corpus/{sid}"
        kind = guess_kind(source, Path(source))
        for i in range(files_per_source):
            name = f"{source}/f{i:03d}.flac"
            out.append(NegativeEntry(source, name, 0, 0, 100, minutes * 60 / files_per_source,
                                     file_split(source, name), kind, "x"))
    return out


def generated_entries(n_tts: int = 16) -> list[NegativeEntry]:
    """Entries shaped like the generated corpus (every fourth stream is calibration)."""
    names = [(f"v1/tts/{i:03d}", "tts", 60.0) for i in range(n_tts)]
    names += [(f"v1/noise/{k}", "noise", 40.0) for k in NOISE_KINDS]
    names += [(f"v1/music/{i}", "music", 40.0) for i in range(MUSIC_STREAMS)]
    return [NegativeEntry(GENERATED_SOURCE, name, 0, 0, 100, secs,
                          CALIBRATION if k % 4 == 3 else TRAIN, kind, "x")
            for k, (name, kind, secs) in enumerate(names)]


def effective(entries: list[NegativeEntry]) -> dict[tuple[str, str], str]:
    plan = plan_splits(entries)
    out: dict[tuple[str, str], str] = {}
    for e in entries:
        assert out.setdefault(e.key, plan.split_of(e)) == plan.split_of(e)  # file: one split
    return out


def heldout_share(entries: list[NegativeEntry], generated: bool) -> dict[str, float]:
    plan = plan_splits(entries)
    total: dict[str, float] = {}
    held: dict[str, float] = {}
    for e in entries:
        if (e.source == GENERATED_SOURCE) != generated:
            continue
        total[e.kind] = total.get(e.kind, 0.0) + e.seconds
        if plan.split_of(e) == HELDOUT:
            held[e.kind] = held.get(e.kind, 0.0) + e.seconds
    return {k: held.get(k, 0.0) / t for k, t in total.items()}


def test_splits_are_deterministic_and_order_free() -> None:
    entries = corpus_entries() + generated_entries()
    first = effective(entries)
    shuffled = list(entries)
    random.Random(7).shuffle(shuffled)
    assert effective(shuffled) == first
    assert set(first.values()) == set(SPLITS)


def test_heldout_is_whole_sources_and_never_elsewhere() -> None:
    entries = corpus_entries() + generated_entries()
    plan = plan_splits(entries)
    splits_of_unit: dict[str, set[str]] = {}
    for e in entries:
        splits_of_unit.setdefault(unit_of(e.source, e.name), set()).add(plan.split_of(e))
    held = {u for u, s in splits_of_unit.items() if HELDOUT in s}
    assert held and all(splits_of_unit[u] == {HELDOUT} for u in held)
    assert sorted(held) == plan.heldout_sources
    assert not held & CALIBRATION_SOURCES  # the calibration voices stay calibration
    assert any(u.startswith(f"{GENERATED_SOURCE}:") for u in held)
    assert any(not u.startswith(f"{GENERATED_SOURCE}:") for u in held)


def test_heldout_hours_per_kind_on_the_real_source_list() -> None:
    assert {s.removeprefix("corpus/") for s in CALIBRATION_SOURCES} <= set(CORPUS_MINUTES)
    assert set(CORPUS_MINUTES) <= set(SOURCES)  # real registry ids
    entries = corpus_entries() + generated_entries()
    real = heldout_share(entries, generated=False)
    assert HELDOUT_MIN <= real["speech"] <= HELDOUT_MAX
    assert HELDOUT_MIN <= real["music"] <= HELDOUT_CAP  # one big source sets the size
    assert real["noise"] == 0.0  # one source of real effects: nothing to hold out
    generated = heldout_share(entries, generated=True)
    for kind in ("tts", "noise", "music"):
        assert HELDOUT_MIN <= generated[kind] <= HELDOUT_MAX, kind


def test_a_kind_with_one_source_keeps_it() -> None:
    entries = [NegativeEntry("mine", f"mine/{i}.wav", 0, 0, 100, 60.0, TRAIN, "other", "x")
               for i in range(20)]
    assert plan_splits(entries).heldout == frozenset()
    two = entries + [NegativeEntry("yours", "yours/a.wav", 0, 0, 100, 240.0, TRAIN, "other",
                                   "x")]
    assert plan_splits(two).heldout == frozenset({"yours"})  # 240 s of 1440 s: 17 %


def test_a_heldout_source_takes_its_calibration_files_along() -> None:
    entries = [NegativeEntry(src, name, 0, 0, 100, secs, file_split(src, name), "other", "x")
               for src, secs in (("mine", 60.0), ("yours", 12.0)) for i in range(20)
               for name in (f"{src}/{i}.wav",)]
    assert {e.split for e in entries if e.source == "yours"} == {TRAIN, CALIBRATION}
    splits = effective(entries)
    assert {s for (src, _), s in splits.items() if src == "yours"} == {HELDOUT}
    assert HELDOUT not in {s for (src, _), s in splits.items() if src == "mine"}


def test_validation_is_small_and_from_train_files() -> None:
    entries = corpus_entries() + generated_entries()
    splits = effective(entries)
    stored = {e.key: e.split for e in entries}
    val = [k for k, s in splits.items() if s == VALIDATION]
    assert val and all(stored[k] == TRAIN for k in val)
    seconds = {e.key: e.seconds for e in entries}
    assert sum(seconds[k] for k in val) < 0.1 * sum(seconds.values())
    assert any(k[0] == GENERATED_SOURCE for k in val)  # generated-only jobs can early-stop


@pytest.mark.parametrize("n_tts", [12, 16, 20])
def test_small_kinds_keep_their_streams_for_training(n_tts: int) -> None:
    splits = effective(generated_entries(n_tts))
    val = [name for (_, name), s in splits.items() if s == VALIDATION]
    assert val and all("/tts/" in name for name in val)  # six noise, six music streams


# --------------------------------------------------------------------- on a real store
def fake_embed(samples: np.ndarray) -> np.ndarray:
    """Column 0 = 100 x frame mean (tells entries apart), the rest constant."""
    n = len(samples) // FRAME_SAMPLES
    out = np.full((n, EMBEDDING_DIM), 0.5, np.float32)
    out[:, 0] = np.asarray(samples[:n * FRAME_SAMPLES], np.float32).reshape(
        n, FRAME_SAMPLES).mean(axis=1) * 100
    return out


def refuse_embed(samples: np.ndarray) -> np.ndarray:
    raise AssertionError("reading a store must not embed anything")


def const(seconds: float, value: float) -> np.ndarray:
    return np.full(int(seconds * SAMPLE_RATE), value, np.float32)


def layout(root: Path) -> SimpleNamespace:
    return SimpleNamespace(negative_store_dir=root / "cache" / "negatives",
                           negative_dir=root / "negative", voices_dir=root / "voices")


def fill(root: Path) -> tuple[SimpleNamespace, dict[str, float]]:
    """A store with the generated corpus (as if complete) and four real sources, each file a
    constant signal whose level names its source; files under data/negative as well. Of the
    real music (12 + 12 + 4 s), only corpus/music-c fits in 15-25 %: it is held out."""
    paths = layout(root)
    store = NegativeStore(paths.negative_store_dir, embedder=fake_embed)
    level = {}
    with store.batch():
        names = [f"v{GENERATED_VERSION}/tts/{i:03d}" for i in range(10)]
        names += [f"v{GENERATED_VERSION}/music/{i}" for i in range(MUSIC_STREAMS)]
        for k, name in enumerate(names):
            kind = "tts" if "/tts/" in name else "music"
            store.add_audio(GENERATED_SOURCE, name, const(2.0, 0.001 * (k + 1)), kind=kind,
                            split=CALIBRATION if k % 4 == 3 else TRAIN)
            level[f"{GENERATED_SOURCE}:{name}"] = 0.1 * (k + 1)
    files = []
    sources = {"corpus/music-a": 6, "corpus/music-b": 6, "corpus/music-c": 2, "mine": 6}
    for j, (source, count) in enumerate(sources.items()):
        for i in range(count):
            value = 0.1 + 0.05 * j
            rel = f"{source}/f{i}.wav"
            files.append((source, write_wav(paths.negative_dir / rel, const(2.0, value))))
            level[source] = round(100 * value, 3)
    store.build_from_files(files, root=paths.negative_dir,
                           kind_of=lambda s, p: "music" if "music" in s else "speech")
    return paths, level


def test_an_older_index_gets_four_splits_without_re_embedding(tmp_path: Path) -> None:
    paths, _ = fill(tmp_path)
    root = paths.negative_store_dir
    raw = json.loads((root / "index.json").read_text())
    assert {e["split"] for e in raw["entries"]} <= {TRAIN, CALIBRATION}  # the stored format
    data = {p.name: p.read_bytes() for p in root.glob("embeddings-*.f16")}
    index = (root / "index.json").read_bytes()
    store = NegativeStore(root, embedder=refuse_embed)
    assert {e.split for e in store.entries()} == set(SPLITS)
    assert store.entries(HELDOUT) and store.stats()["by_split_kind"][HELDOUT]
    assert {p.name: p.read_bytes() for p in root.glob("embeddings-*.f16")} == data
    assert (root / "index.json").read_bytes() == index  # reading never rewrites it
    with pytest.raises(ValueError, match="split must be one of"):
        store.entries("test")


def test_negative_source_reports_hours_and_streams_per_split(tmp_path: Path) -> None:
    paths, level = fill(tmp_path)
    neg = open_negatives(paths, rng=np.random.default_rng(0))
    assert neg.heldout_sources == neg.store.split_plan().heldout_sources
    assert "corpus/music-c" in neg.heldout_sources
    assert not {"corpus/music-a", "corpus/music-b", "mine"} & set(neg.heldout_sources)
    by_split = neg.hours_by_split()
    assert set(by_split) == set(SPLITS)
    assert sum(sum(k.values()) for k in by_split.values()) == pytest.approx(neg.hours())
    assert neg.heldout_hours == pytest.approx(sum(by_split[HELDOUT].values()))
    held = neg.heldout_streams_by_kind()
    assert set(held) == set(by_split[HELDOUT])
    seen = {round(float(emb[0, 0]), 3) for streams in held.values() for emb in streams}
    train = neg.sample_windows(500, np.random.default_rng(1), split=TRAIN)
    assert not seen & {round(float(v), 3) for v in np.unique(train[:, 0, 0])}
    val = neg.sample_windows(50, np.random.default_rng(2), split=VALIDATION)
    assert val.shape[0] == 50
    # background audio comes from files of sources that are not held out
    background = {source_of(f, paths.negative_dir) for f in neg.negative_files}
    assert background == {"corpus/music-a", "corpus/music-b", "mine"}
    info = cache_info(paths)
    assert set(info["hours_by_split"]) == set(SPLITS)
    assert info["heldout_sources"] == neg.heldout_sources
    assert info["hours_by_split_kind"][HELDOUT] and info["chunk_count"] > 0


@pytest.mark.parametrize("exclude", [("corpus/music-a",), ("corpus/",)])
def test_exclusion_drops_embeddings_and_background(tmp_path: Path,
                                                   exclude: tuple[str, ...]) -> None:
    paths, _ = fill(tmp_path)
    neg = open_negatives(paths, rng=np.random.default_rng(0), exclude_sources=exclude)
    every = neg.entries()
    assert every and not any(source_matches(e.source, exclude) for e in every)
    assert any(e.source == "mine" for e in every)
    for split in SPLITS:
        assert not any(source_matches(e.source, exclude) for e in neg.entries(split))
    assert not any(source_matches(s, exclude) for s in neg.heldout_sources)
    files = [f.relative_to(paths.negative_dir).as_posix() for f in neg.negative_files]
    assert files and not any(f.startswith("corpus/music-a/") for f in files)
    if exclude == ("corpus/",):
        assert not any(f.startswith("corpus/") for f in files)
    levels = {round(float(v), 2) for v in np.unique(
        neg.sample_windows(400, np.random.default_rng(3))[:, 0, 0])}
    assert 10.0 not in levels  # corpus/music-a's files are constant 0.1 (level 10)


def test_a_bare_name_is_an_exact_id_not_a_prefix() -> None:
    assert source_matches("corpus", ["corpus"])
    assert not source_matches("corpus/bass", ["corpus"])
    assert source_matches("corpus/bass", ["corpus/"])
    assert not source_matches("corpus/bassoon", ["corpus/bass"])


def test_generated_only_selects_by_source_not_kind(tmp_path: Path) -> None:
    paths, _ = fill(tmp_path)
    neg = open_negatives(paths, rng=np.random.default_rng(0), use_real=False)
    assert neg.negative_files == []
    assert {e.source for e in neg.entries()} == {GENERATED_SOURCE}
    assert any(e.kind == "music" for e in neg.entries())  # generated music is kept
    for split in (TRAIN, VALIDATION, CALIBRATION, HELDOUT):
        assert {e.source for e in neg.entries(split)} <= {GENERATED_SOURCE}
    assert neg.heldout_sources and all(s.startswith(f"{GENERATED_SOURCE}:")
                                       for s in neg.heldout_sources)
    windows = neg.sample_windows(300, np.random.default_rng(4))
    assert np.all(np.unique(windows[:, 0, 0]) < 5.0)  # generated levels are 0.1 .. 1.6
    assert neg.natural_speech_hours == 0.0


def test_cli_cache_info_shows_hours_by_split_and_kind(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wakebuilder.cli.main import app

    paths, _ = fill(tmp_path)
    out = CliRunner().invoke(app, ["cache", "info", "--data-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    info = json.loads(out.stdout)
    assert set(info["hours_by_split"]) == set(SPLITS)
    assert info["hours_by_split"][HELDOUT] > 0
    assert "corpus/music-c" in info["heldout_sources"]
    assert info["hours_by_split_kind"][HELDOUT]["music"] > 0
    for field in ("available", "chunk_count", "size_mb", "last_built"):  # the reference's
        assert field in info


def test_a_share_of_a_source_excludes_those_files_only(tmp_path: Path) -> None:
    """``source#k/n`` drops the files of part k (a stable hash of the name) from every split,
    and the whole source from background audio; the split plan and every other file stay."""
    from wakebuilder.negstore.kinds import entry_excluded, file_part

    paths, _ = fill(tmp_path)
    plain = open_negatives(paths, rng=np.random.default_rng(0))
    for source in ("corpus/music-a", "corpus/music-c"):  # a train and a held-out source
        names = [e.name for e in plain.entries() if e.source == source]
        parts = {n: file_part(source, n, 2) for n in names}
        dropped = [n for n, p in parts.items() if p == 1]
        kept = [n for n, p in parts.items() if p == 0]
        assert len(names) >= 2
        neg = open_negatives(paths, rng=np.random.default_rng(0),
                             exclude_sources=(f"{source}#1/2",))
        assert neg.heldout_sources == plain.heldout_sources  # the plan is the whole store's
        for split in SPLITS:
            got = {(e.source, e.name) for e in neg.entries(split)}
            want = {(e.source, e.name) for e in plain.entries(split)
                    if not (e.source == source and e.name in dropped)}
            assert got == want, split
        assert sorted(e.name for e in neg.entries() if e.source == source) == sorted(kept)
        background = {source_of(f, paths.negative_dir) for f in neg.negative_files}
        assert source not in background
    assert entry_excluded("mixture", "v1/train/music/000@corpus/bass+corpus/fotaq",
                          ["corpus/bass#0/3"])
    assert not entry_excluded("mixture", "v1/train/music/000@corpus/fotaq", ["corpus/bass#0/3"])


@pytest.mark.parametrize("pattern", ["corpus/bass#2/2", "corpus/bass#a/2", "corpus/bass#1/17",
                                     "corpus/bass#1", "#0/2", "corpus/bass#0/2#1/2"])
def test_a_malformed_share_is_refused(pattern: str) -> None:
    from pydantic import ValidationError

    from wakebuilder.training.config import TrainConfig

    with pytest.raises(ValidationError, match="source#k/n|k < n"):
        TrainConfig(exclude_negative_sources=[pattern])
    assert TrainConfig(exclude_negative_sources=["corpus/bass#1/2"]).exclude_negative_sources
