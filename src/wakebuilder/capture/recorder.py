"""What one live stream keeps: a clip around every detection, near misses, and the last few
seconds when the user says the model missed the wake word.

Blocking (it writes files); call it from the stream's inference threads. Calls are serialised
by a lock (a stream that closes may still have a chunk in flight on another thread). Nothing
is buffered or stored unless the recorder is enabled.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.capture.ring import RingBuffer
from wakebuilder.capture.store import CaptureKind, CaptureRecord, CaptureStore
from wakebuilder.detection.logic import Detection

MS = SAMPLE_RATE // 1000


@dataclass(frozen=True)
class CaptureConfig:
    """How a stream captures (all times in seconds)."""

    enabled: bool = False
    pre_s: float = 2.0
    """Audio kept before a detection or near miss (the word comes before the frame that
    fires, and a replay needs the front end's ~2 s of context)."""
    post_s: float = 0.5
    """Audio kept after it."""
    missed_s: float = 3.0
    """Audio kept when the user presses "I said it and it missed"."""
    near_miss_fraction: float = 0.5
    """A score episode peaking at or above this fraction of the threshold (but below it) is a
    near miss; 0 keeps none."""
    min_gap_s: float = 2.0
    """Near misses closer than this to a detection or to another capture are not kept."""

    @property
    def ring_s(self) -> float:
        return max(self.pre_s + self.post_s, self.missed_s) + 2.0


@dataclass
class _Pending:
    kind: CaptureKind
    time_ms: int
    score: float


class StreamRecorder:
    """Captures of one stream of one model into a :class:`CaptureStore`."""

    def __init__(self, store: CaptureStore, model_id: str, *, config: CaptureConfig,
                 model_created_at: str | None = None, source: str = "websocket") -> None:
        self.store = store
        self.model_id = model_id
        self.model_created_at = model_created_at
        self.source = source
        self.config = config
        self.ring = RingBuffer(config.ring_s)
        self._scores: deque[tuple[int, float]] = deque()
        self._pending: list[_Pending] = []
        self._episode: tuple[int, float] | None = None  # (peak time, peak score)
        self._last_event_ms = -10**9
        self.threshold = 0.5
        self.skipped = 0
        """Clips not stored because the bounds left no room."""
        self._lock = threading.RLock()

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def set_enabled(self, enabled: bool) -> None:
        """Switch capturing on or off; off forgets the buffered audio."""
        with self._lock:
            self.config = replace(self.config, enabled=enabled)
            if not enabled:
                self.reset()

    def reset(self) -> None:
        """A new stream: forget audio, scores and clips not yet written."""
        with self._lock:
            self.ring.reset()
            self._scores.clear()
            self._pending.clear()
            self._episode = None
            self._last_event_ms = -10**9

    def observe(self, samples: Samples, frame_scores: Sequence[tuple[int, float]],
                detections: Sequence[Detection], threshold: float) -> list[CaptureRecord]:
        """Take one call's 16 kHz samples, frame scores and detections; returns the clips
        written by this call."""
        with self._lock:
            return self._observe(samples, frame_scores, detections, threshold)

    def _observe(self, samples: Samples, frame_scores: Sequence[tuple[int, float]],
                 detections: Sequence[Detection], threshold: float) -> list[CaptureRecord]:
        if not self.enabled:
            return []
        self.threshold = threshold
        self.ring.push(samples)
        keep_ms = int(self.config.ring_s * 1000)
        for t, s in frame_scores:
            self._scores.append((t, s))
        while self._scores and self._scores[0][0] < self.ring.end // MS - keep_ms:
            self._scores.popleft()
        for d in detections:
            self._pending.append(_Pending("detection", d.time_ms, d.score))
            self._last_event_ms = d.time_ms
        self._near_misses(frame_scores, threshold)
        return self._flush()

    def _near_misses(self, frame_scores: Sequence[tuple[int, float]], threshold: float) -> None:
        frac = self.config.near_miss_fraction
        if frac <= 0:
            return
        floor = frac * threshold
        gap_ms = int(self.config.min_gap_s * 1000)
        for t, s in frame_scores:
            if s >= floor:
                if self._episode is None or s > self._episode[1]:
                    self._episode = (t, s)
                continue
            if self._episode is None:
                continue
            peak_t, peak = self._episode
            self._episode = None
            if peak < threshold and abs(peak_t - self._last_event_ms) >= gap_ms:
                self._pending.append(_Pending("near_miss", peak_t, peak))
                self._last_event_ms = peak_t

    def _flush(self, force: bool = False) -> list[CaptureRecord]:
        written, left = [], []
        post = int(self.config.post_s * SAMPLE_RATE)
        for p in self._pending:
            if force or self.ring.end >= p.time_ms * MS + post:
                rec = self._write(p, p.time_ms * MS - int(self.config.pre_s * SAMPLE_RATE),
                                  p.time_ms * MS + post)
                if rec is not None:
                    written.append(rec)
            else:
                left.append(p)
        self._pending = left
        return written

    def _write(self, p: _Pending, begin: int, end: int) -> CaptureRecord | None:
        begin = max(begin, self.ring.start)
        clip = self.ring.slice(begin, end)
        if len(clip) == 0:
            return None
        rec = self.store.add(clip, model_id=self.model_id, kind=p.kind, score=p.score,
                             threshold=self.threshold, time_ms=p.time_ms,
                             peak_offset_ms=max(0, p.time_ms - begin // MS),
                             source=self.source, model_created_at=self.model_created_at)
        if rec is None:
            self.skipped += 1
        return rec

    def missed(self) -> CaptureRecord | None:
        """Store the last ``missed_s`` seconds as a missed wake word (None when off or when
        no audio came yet)."""
        with self._lock:
            return self._missed()

    def _missed(self) -> CaptureRecord | None:
        if not self.enabled or self.ring.end == 0:
            return None
        end = self.ring.end
        begin = end - int(self.config.missed_s * SAMPLE_RATE)
        recent = [(t, s) for t, s in self._scores if t * MS >= begin]
        t, s = max(recent, key=lambda ts: ts[1]) if recent else (end // MS, 0.0)
        return self._write(_Pending("missed", t, s), begin, end)

    def close(self) -> list[CaptureRecord]:
        """Write the clips still waiting for their tail (the stream ended)."""
        with self._lock:
            return self._flush(force=True) if self.enabled else []
