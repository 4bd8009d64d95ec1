"""Tests of the negative feature store (wakebuilder.negstore.store)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from wakebuilder.audio.format import FRAME_SAMPLES, SAMPLE_RATE
from wakebuilder.audio.io import write_wav
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.evaluate import hours_of, smoothed_scores
from wakebuilder.errors import CancelledError
from wakebuilder.features.frontend import EMBEDDING_DIM, WINDOW_FRAMES, get_frontend
from wakebuilder.negstore import embedding
from wakebuilder.negstore.index import group_of
from wakebuilder.negstore.kinds import guess_kind
from wakebuilder.negstore.splits import (
    CALIBRATION,
    SPLITS,
    TRAIN,
    assign_splits,
    file_key,
    hash_split,
    stable_fraction,
)
from wakebuilder.negstore.store import NegativeStore


def fake_embed(samples: np.ndarray) -> np.ndarray:
    """Cheap stand-in: column 0 = 100 x frame mean, column 1 = frame index."""
    n = len(samples) // FRAME_SAMPLES
    frames = np.asarray(samples[:n * FRAME_SAMPLES], np.float32).reshape(n, FRAME_SAMPLES)
    out = np.zeros((n, EMBEDDING_DIM), np.float32)
    out[:, 0] = frames.mean(axis=1) * 100
    out[:, 1] = np.arange(n)
    out[:, 2:] = 0.5
    return out


def tone(seconds: float, level: float = 0.1, freq: float = 440.0, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    noise = np.random.default_rng(seed).standard_normal(len(t)) * 0.02
    return (level * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def const(seconds: float, value: float) -> np.ndarray:
    return np.full(int(seconds * SAMPLE_RATE), value, np.float32)


@pytest.fixture
def store(tmp_path: Path) -> NegativeStore:
    return NegativeStore(tmp_path / "neg", embedder=fake_embed)


def make_files(root: Path, layout: dict[str, float]) -> list[tuple[str, Path]]:
    files = []
    for i, (rel, secs) in enumerate(sorted(layout.items())):
        path = write_wav(root / rel, tone(secs, freq=200 + 50 * i, seed=i))
        files.append((rel.split("/")[0], path))
    return files


def between_quiet(audio: np.ndarray) -> np.ndarray:
    """What the store should hold for ``audio``: its embeddings as heard after a quiet lead
    (the front end's context dropped), with the quiet tail."""
    return get_frontend(1).embed_stream(embedding.in_quiet(audio))[embedding.CONTEXT_FRAMES:]


def test_real_frontend_round_trip(tmp_path: Path) -> None:
    audio = tone(3.0, seed=1)
    store = NegativeStore(tmp_path / "neg")
    (entry,) = store.add_audio("speech_src", "a/clip", audio, kind="speech")
    expected = between_quiet(audio)
    got = NegativeStore(tmp_path / "neg").embeddings(entry)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert entry.frames == embedding.stored_frames(len(audio)) == 16 + 37 + 6
    # The detector listens to every frame of the audio and the pause after it, none of the lead.
    listened = hours_of([smoothed_scores(np.zeros(entry.frames), DetectorConfig())])
    assert listened == pytest.approx((37 + 6) * 0.08 / 3600)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)
    # The audio starts right after the lead: the first scored frame is its first frame, and
    # every frame of the lead is the same quiet, whatever the audio.
    (other,) = store.add_audio("speech_src", "a/other", tone(1.0, seed=2), kind="speech")
    np.testing.assert_array_equal(store.embeddings(other)[:8], store.embeddings(entry)[:8])
    assert not np.allclose(store.embeddings(other)[16], store.embeddings(entry)[16], atol=0.1)
    assert entry.seconds == pytest.approx(3.0)
    assert store.embeddings(entry, np.float16).base is not None  # a view of the memmap


def test_real_frontend_process_pool(tmp_path: Path) -> None:
    files = make_files(tmp_path / "in", {"noise/x/a.wav": 2.0, "noise/y/b.wav": 2.5})
    store = NegativeStore(tmp_path / "neg")
    report = store.build_from_files(files, max_workers=2, root=tmp_path / "in")
    assert report.added == 2 and report.failed_count == 0
    for (_, path), entry in zip(files, store.entries(), strict=True):
        assert entry.name == path.relative_to(tmp_path / "in").as_posix()
        expected = between_quiet(embedding.decode_audio(path))
        np.testing.assert_allclose(store.embeddings(entry), expected, rtol=1e-3, atol=1e-3)


def test_incremental_rebuild(store: NegativeStore, tmp_path: Path) -> None:
    root = tmp_path / "in"
    files = make_files(root, {"s1/a/x.wav": 2.0, "s1/a/y.wav": 2.0, "s1/z.wav": 3.0})
    first = store.build_from_files(files, root=root)
    assert (first.added, first.skipped, first.updated) == (3, 0, 0)
    again = store.build_from_files(files, root=root)
    assert (again.added, again.skipped, again.updated) == (0, 3, 0)
    changed = files[2][1]
    write_wav(changed, const(4.0, 0.25))
    os.utime(changed, ns=(1, 10**18))
    third = store.build_from_files(files, root=root)
    assert (third.added, third.skipped, third.updated) == (0, 2, 1)
    (entry,) = [e for e in store.entries() if e.name == "s1/z.wav"]
    assert entry.frames == 50 and entry.seconds == pytest.approx(4.0)
    np.testing.assert_allclose(store.embeddings(entry)[:, 0], 25.0, rtol=1e-3)
    assert len(store.entries()) == 3
    changed.unlink()
    pruned = store.build_from_files(files[:2], root=root, prune=True)
    assert pruned.pruned == 1 and len(store.entries()) == 2
    store.add_audio("generated", "g/a", const(2.0, 0.1), kind="noise")
    gone = store.build_from_files([], prune=["s1"])
    assert gone.pruned == 2 and [e.source for e in store.entries()] == ["generated"]


def test_undecodable_files_are_reported(store: NegativeStore, tmp_path: Path) -> None:
    files = make_files(tmp_path, {"u/good.wav": 2.0})
    bad = tmp_path / "u" / "bad.wav"
    bad.write_bytes(b"RIFF not really audio" * 10)
    empty = tmp_path / "u" / "empty.flac"
    empty.write_bytes(b"")
    missing = tmp_path / "u" / "missing.wav"
    report = store.build_from_files(files + [("u", bad), ("u", empty), ("u", missing)],
                                    root=tmp_path)
    assert report.added == 1 and report.failed_count == 3
    assert {f["name"] for f in report.failed} == {"u/bad.wav", "u/empty.flac", "u/missing.wav"}
    assert all(f["reason"] for f in report.failed)
    # Failures are retried (and reported) on the next build, never forgotten silently.
    assert store.build_from_files(files + [("u", bad)], root=tmp_path).failed_count == 1


def test_long_files_are_cut_into_segments(store: NegativeStore, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "SEGMENT_SECONDS", 2.0)
    files = make_files(tmp_path, {"long/a.flac": 5.0})
    store.build_from_files(files, root=tmp_path)
    entries = store.entries()
    assert [e.segment for e in entries] == [0, 1, 2]
    assert sum(e.seconds for e in entries) == pytest.approx(5.0)
    assert [e.frames for e in entries] == [25, 25, 17]  # the last 1 s piece is padded
    assert len({e.split for e in entries}) == 1


def test_split_assignment_is_stable_and_by_file(tmp_path: Path) -> None:
    layout = {f"src{i % 4}/d{i}/f{j}.wav": 1.5 for i in range(20) for j in range(2)}
    files = make_files(tmp_path, layout)
    a = NegativeStore(tmp_path / "a", embedder=fake_embed)
    b = NegativeStore(tmp_path / "b", embedder=fake_embed)
    a.build_from_files(files, root=tmp_path, kind_of=lambda s, p: "speech")
    b.build_from_files(files[::-1], root=tmp_path, kind_of=lambda s, p: "speech")
    split_a = {e.name: e.split for e in a.entries()}
    assert split_a == {e.name: e.split for e in b.entries()}
    assert set(split_a.values()) == set(SPLITS)
    assert group_of("src1", "src1/d1/f0.wav") == "src1/src1/d1"
    assert hash_split("x/y") == hash_split("x/y")
    # Splits already stored are sticky, whatever the rule says now.
    entry = a.entries()[0]
    flipped = TRAIN if entry.split == CALIBRATION else CALIBRATION
    from dataclasses import replace
    assert assign_splits([("speech", entry.source, entry.name)],
                         [replace(entry, split=flipped)]) == [flipped]


def test_every_kind_gets_calibration_audio() -> None:
    names = [f"g{i}/f.wav" for i in range(400)
             if hash_split(file_key("noise", f"g{i}/f.wav")) == TRAIN][:3]
    items = [("noise", "noise", n) for n in names]
    splits = assign_splits(items, [])
    forced = min(names, key=lambda n: stable_fraction(file_key("noise", n)))
    assert splits == [CALIBRATION if n == forced else TRAIN for n in names]
    single = [("music", "music", f"m{i}.wav") for i in range(6)]
    assert CALIBRATION in assign_splits(single, [])
    assert TRAIN in assign_splits(single, [])
    assert assign_splits([("tts", "tts", "one.wav")], []) == [
        hash_split(file_key("tts", "one.wav"))]


def test_sample_windows_stay_inside_entries(store: NegativeStore) -> None:
    with store.batch():
        for i in range(6):
            store.add_audio("src", f"g{i}/c", const(2.0 + i, 0.01 * (i + 1)), kind="noise",
                            split=TRAIN if i < 4 else CALIBRATION)
        store.add_audio("tts", "v/c", const(3.0, 0.5), kind="tts", split=TRAIN)
    rng = np.random.default_rng(0)
    win = store.sample_windows(2000, rng, kinds=["noise"])
    assert win.shape == (2000, WINDOW_FRAMES, EMBEDDING_DIM) and win.dtype == np.float32
    assert np.all(win[:, :, 0] == win[:, :1, 0])  # one entry per window
    assert np.all(np.diff(win[:, :, 1], axis=1) == 1)  # consecutive frames
    levels = np.unique(np.round(win[:, 0, 0]))
    train = store.entries(TRAIN, "noise")  # stored as train: g0..g3, less the validation file
    assert len(train) >= 3
    assert set(levels) == {round(float(store.embeddings(e)[0, 0])) for e in train}
    counts = np.array([np.sum(np.round(win[:, 0, 0]) == v) for v in levels])
    weights = np.array([e.frames - WINDOW_FRAMES + 1 for e in train])
    assert np.allclose(counts / counts.sum(), weights / weights.sum(), atol=0.04)
    cal = store.sample_windows(10, rng, split=CALIBRATION)
    assert set(np.round(cal[:, 0, 0])) <= {5.0, 6.0}
    assert store.sample_windows(0, rng).shape == (0, WINDOW_FRAMES, EMBEDDING_DIM)
    streams = list(store.streams(CALIBRATION))
    assert [e.name for e, _ in streams] == ["g4/c", "g5/c"]
    assert all(len(emb) == e.frames for e, emb in streams)


def test_draws_do_not_depend_on_the_order_files_were_stored(tmp_path: Path) -> None:
    """A progressive first run stores files as their downloads finish, so two builds of the
    same audio insert them in different orders: the entries, their streams and every draw
    must still be the same (a job's weights follow them)."""
    clips = {(src, f"g{i}/c"): const(2.0 + i, 0.01 * (i + 1) + (0.3 if src == "b" else 0))
             for src in ("a", "b") for i in range(4)}
    stores = []
    for name, keys in (("first", sorted(clips)), ("second", sorted(clips, reverse=True))):
        store = NegativeStore(tmp_path / name, embedder=fake_embed)
        with store.batch():
            for src, rel in keys:
                store.add_audio(src, rel, clips[(src, rel)], kind="noise", split=TRAIN)
        stores.append(NegativeStore(tmp_path / name, embedder=fake_embed))  # as reopened
    first, second = stores
    assert [e.key for e in first.entries()] == [e.key for e in second.entries()]
    assert [e.key for e in first.entries()] == sorted(e.key for e in first.entries())
    draws = [s.sample_windows(500, np.random.default_rng(7), kinds=["noise"]) for s in stores]
    assert np.array_equal(draws[0], draws[1])
    assert len(np.unique(np.round(draws[0][:, 0, 0]))) > 4  # drawn from several files


def test_interrupted_build_reopens_consistently(store: NegativeStore, tmp_path: Path) -> None:
    files = make_files(tmp_path, {"s/a.wav": 2.0, "s/b.wav": 2.0, "s/c.wav": 2.0})
    store.build_from_files(files[:1], root=tmp_path)
    before = [(e, store.embeddings(e)) for e in store.entries()]
    data = store.root / "embeddings-0.f16"
    with open(data, "ab") as fh:  # rows appended, index never updated
        fh.write(os.urandom(1000))
    calls = 0

    def crashing(samples: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("power cut")
        return fake_embed(samples)

    broken = NegativeStore(store.root, embedder=crashing)
    with pytest.raises(RuntimeError):
        broken.build_from_files(files, root=tmp_path)
    reopened = NegativeStore(store.root, embedder=fake_embed)
    assert [(e, emb.tolist()) for e, emb in before] == [
        (e, reopened.embeddings(e).tolist()) for e in reopened.entries()]
    report = reopened.build_from_files(files, root=tmp_path)
    assert (report.added, report.skipped) == (2, 1)
    assert data.stat().st_size == reopened.stats()["frames"] * EMBEDDING_DIM * 2
    for e in reopened.entries():
        assert np.all(np.diff(reopened.embeddings(e)[:, 1]) == 1)


def test_cancel_commits_work_done(store: NegativeStore, tmp_path: Path) -> None:
    files = make_files(tmp_path, {f"s/{i}.wav": 1.5 for i in range(4)})
    seen: list[tuple[int, int, str]] = []
    with pytest.raises(CancelledError):
        store.build_from_files(files, root=tmp_path, progress=lambda *a: seen.append(a),
                               should_cancel=lambda: len(seen) >= 2)
    assert len(NegativeStore(store.root).entries()) == 1
    assert seen[-1][:2] == (1, 4)


def test_lock_excludes_a_second_builder(store: NegativeStore, tmp_path: Path) -> None:
    files = make_files(tmp_path, {"s/a.wav": 1.5})
    other = NegativeStore(store.root, embedder=fake_embed)
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.batch():
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    ticks: list[int] = []
    with pytest.raises(CancelledError):
        other.build_from_files(files, should_cancel=lambda: ticks.append(1) or len(ticks) > 3)
    release.set()
    holder.join()
    assert other.build_from_files(files).added == 1


def test_stats_and_clear(store: NegativeStore) -> None:
    assert store.stats()["available"] is False
    store.add_audio("corpus", "x/a", tone(3.6), kind="speech", split=TRAIN)
    store.add_audio("noise", "n/a", tone(1.8), kind="noise", split=CALIBRATION)
    stats = NegativeStore(store.root).stats()
    assert stats["entries"] == 2 and stats["has_natural_speech"] is True
    assert stats["by_split"][TRAIN]["hours"] == pytest.approx(0.001)
    assert stats["by_kind"]["noise"]["hours"] == pytest.approx(0.0005)
    assert stats["size_mb"] > 0 and stats["last_built"].endswith("Z")
    store.clear()
    assert store.entries() == [] and store.stats()["entries"] == 0
    assert not list(store.root.glob("embeddings-*")) and not store.index_path.exists()
    store.add_audio("noise", "n/b", tone(2.0), kind="noise")
    assert len(NegativeStore(store.root).entries()) == 1


def test_compaction_after_many_replacements(store: NegativeStore) -> None:
    for value in (0.1, 0.2, 0.3):
        store.add_audio("s", "a", const(2.0, value), kind="noise", split=TRAIN)
        store.add_audio("s", "b", const(2.0, -value), kind="noise", split=TRAIN)
    store.build_from_files([])  # a build compacts when dead rows exceed 30 %
    (a, b) = store.entries()
    assert store.stats()["frames"] * EMBEDDING_DIM * 2 == (
        store.root / store._current().data_file).stat().st_size
    np.testing.assert_allclose(store.embeddings(a)[:, 0], 30.0, rtol=1e-3)
    np.testing.assert_allclose(store.embeddings(b)[:, 0], -30.0, rtol=1e-3)


def test_guess_kind() -> None:
    assert guess_kind("corpus", Path("corpus/festival/a.flac")) == "speech"
    assert guess_kind("corpus/fotaq", Path("corpus/fotaq/1.flac")) == "speech"
    assert guess_kind("corpus/music-supertux", Path("corpus/music-supertux/a/p000.flac")) \
        == "music"
    assert guess_kind("corpus/effects-lincity", Path("corpus/effects-lincity/b.flac")) \
        == "noise"
    assert guess_kind("generated", Path("generated/music/a.wav")) == "music"
    assert guess_kind("user", Path("user/stuff.wav")) == "other"


def test_corpus_splits_by_whole_source() -> None:
    from wakebuilder.corpus.sources import SOURCES
    from wakebuilder.negstore.splits import CALIBRATION_SOURCES, file_split

    assert {s.removeprefix("corpus/") for s in CALIBRATION_SOURCES} <= set(SOURCES)
    assert file_split("corpus/fillets-nl", "corpus/fillets-nl/a/b.flac") == CALIBRATION
    assert file_split("corpus/fotaq", "corpus/fotaq/x.flac") == TRAIN
    names = [f"mine/{i}.wav" for i in range(200)]
    assert {file_split("mine", n) for n in names} == {TRAIN, CALIBRATION}


def test_sampling_sees_entries_written_through_the_same_store(store: NegativeStore) -> None:
    rng = np.random.default_rng(0)
    with store.batch():  # one index state, changed in place
        store.add_audio("src", "a/c", const(2.0, 0.01), kind="noise", split=TRAIN)
        assert set(np.round(store.sample_windows(200, rng)[:, 0, 0])) == {1.0}
        store.add_audio("src", "b/c", const(2.0, 0.02), kind="noise", split=TRAIN)
        assert set(np.round(store.sample_windows(400, rng)[:, 0, 0])) == {1.0, 2.0}
    store.clear()
    with pytest.raises(ValueError):
        store.sample_windows(1, rng)
