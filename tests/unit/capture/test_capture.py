"""Capture: the ring buffer, the bounded clip store, and what a stream's recorder keeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wakebuilder.audio.format import SAMPLE_RATE
from wakebuilder.capture.recorder import CaptureConfig, StreamRecorder
from wakebuilder.capture.ring import RingBuffer
from wakebuilder.capture.store import CaptureLimits, CaptureNotFoundError, CaptureStore
from wakebuilder.detection.logic import Detection
from wakebuilder.errors import InvalidInputError


def test_ring_keeps_the_newest_samples_by_stream_index() -> None:
    ring = RingBuffer(1.0, sample_rate=10)
    data = np.arange(37, dtype=np.float32)
    for chunk in np.array_split(data, 7):
        ring.push(chunk)
    assert ring.end == 37 and ring.start == 27
    assert np.array_equal(ring.slice(0, 37), data[27:])
    assert np.array_equal(ring.slice(30, 33), data[30:33])
    ring.push(np.arange(100, 125, dtype=np.float32))  # longer than the buffer
    assert np.array_equal(ring.last(1.0), np.arange(115, 125, dtype=np.float32))
    assert ring._buf.size == 10  # memory never grows


def _clip(seconds: float = 1.0) -> np.ndarray:
    return (0.1 * np.sin(np.arange(int(seconds * SAMPLE_RATE)) / 7)).astype(np.float32)


def _add(store: CaptureStore, **kw: object) -> object:
    return store.add(_clip(), model_id="m", kind="detection", score=0.9, threshold=0.5,
                     time_ms=1000, peak_offset_ms=500, **kw)  # type: ignore[arg-type]


def test_store_is_bounded_in_count_and_keeps_labelled_clips(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, CaptureLimits(max_clips=3))
    first = _add(store)
    store.set_label("m", first.id, "false_wake")  # type: ignore[attr-defined]
    for _ in range(5):
        assert _add(store) is not None
    recs = store.list("m")
    assert len(recs) == 3 and first.id in {r.id for r in recs}  # type: ignore[attr-defined]
    for r in recs:
        store.set_label("m", r.id, "wake_word" if r.id != first.id else "false_wake")
    assert _add(store) is None  # only labelled clips left: nothing is dropped for a new one
    assert len(store.list("m")) == 3
    neg, pos = store.labelled_audio("m")
    assert len(neg) == 1 and len(pos) == 2 and len(neg[0]) == SAMPLE_RATE


def test_store_is_bounded_in_bytes(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, CaptureLimits(max_bytes=80_000))  # two 1 s clips (32 kB)
    for _ in range(4):
        _add(store)
    usage = store.usage("m")
    assert usage["clips"] == 2 and usage["bytes"] <= 80_000
    assert sum(p.stat().st_size for p in (tmp_path / "m").glob("*.wav")) <= 80_000


def test_store_validates_ids_and_labels(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path)
    rec = _add(store)
    with pytest.raises(InvalidInputError):
        store.get("m", "../../etc/passwd")
    with pytest.raises(InvalidInputError):
        store.list("../m")
    with pytest.raises(InvalidInputError):
        store.set_label("m", rec.id, "maybe")  # type: ignore[attr-defined]
    with pytest.raises(CaptureNotFoundError):
        store.delete("m", "0123456789abcdef")
    store.delete("m", rec.id)  # type: ignore[attr-defined]
    assert store.list("m") == []


def _feed(rec: StreamRecorder, seconds: float, scores: dict[int, float],
          detections: dict[int, float], chunk_frames: int = 5) -> list:
    """Feed quiet audio frame by frame with the given frame scores / detections."""
    out = []
    frames = int(seconds * 1000 / 80)
    for start in range(0, frames, chunk_frames):
        idx = range(start, min(frames, start + chunk_frames))
        samples = np.full(len(idx) * 1280, 0.01, np.float32)
        fs = [((i + 1) * 80, scores.get(i, 0.0)) for i in idx]
        ds = [Detection("m", detections[i], (i + 1) * 80, i) for i in idx if i in detections]
        out += rec.observe(samples, fs, ds, threshold=0.6)
    return out


def test_recorder_captures_nothing_when_off(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path)
    rec = StreamRecorder(store, "m", config=CaptureConfig(enabled=False))
    assert _feed(rec, 6.0, {30: 0.5, 31: 0.9}, {31: 0.9}) == []
    assert rec.missed() is None and rec.close() == []
    assert rec.ring.end == 0  # not even buffered
    assert not (tmp_path / "m").exists()


def test_recorder_keeps_detections_near_misses_and_missed(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path)
    rec = StreamRecorder(store, "m", config=CaptureConfig(enabled=True, near_miss_fraction=0.5),
                         model_created_at="2026-12-01T00:00:00Z")
    scores = {30: 0.7, 31: 0.9, 32: 0.2, 70: 0.4, 71: 0.45, 72: 0.1, 90: 0.2}
    got = _feed(rec, 10.0, scores, {31: 0.9})
    kinds = {r.kind: r for r in got}
    assert set(kinds) == {"detection", "near_miss"}
    det = kinds["detection"]
    assert det.time_ms == 32 * 80 and det.score == pytest.approx(0.9)
    assert det.duration_s == pytest.approx(2.5, abs=0.01) and det.peak_offset_ms == 2000
    assert kinds["near_miss"].time_ms == 72 * 80 and kinds["near_miss"].score == 0.45
    missed = rec.missed()
    assert missed is not None and missed.kind == "missed"
    assert missed.duration_s == pytest.approx(3.0, abs=0.01)
    assert len(store.list("m")) == 3
    rec.set_enabled(False)
    assert rec.missed() is None


def test_near_misses_are_dropped_before_detections(tmp_path: Path) -> None:
    store = CaptureStore(tmp_path, CaptureLimits(max_clips=2))
    det = _add(store)
    store.add(_clip(), model_id="m", kind="near_miss", score=0.3, threshold=0.5, time_ms=0,
              peak_offset_ms=0)
    _add(store)
    kinds = sorted(r.kind for r in store.list("m"))
    assert kinds == ["detection", "detection"]
    assert det.id in {r.id for r in store.list("m")}  # type: ignore[attr-defined]


def test_protocol_parses_capture_switch_and_missed() -> None:
    from wakebuilder.api.realtime import protocol

    cfg = protocol.parse_text('{"type": "config", "capture": true}', max_bytes=1000)
    assert isinstance(cfg, protocol.ConfigUpdate) and cfg.capture is True and not cfg.ignored
    assert isinstance(protocol.parse_text('{"type": "missed"}', max_bytes=1000),
                      protocol.Missed)
    with pytest.raises(InvalidInputError):
        protocol.parse_text('{"type": "config", "capture": "yes"}', max_bytes=1000)
