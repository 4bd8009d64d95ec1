"""Hard-negative mining: the windows of long negative streams a first-pass model scores
highest become explicit negatives for fine-tuning."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from wakebuilder.errors import CancelledError
from wakebuilder.features.frontend import EMBEDDING_DIM, WINDOW_FRAMES

Windows = npt.NDArray[np.float32]
ScoreFn = Callable[[Windows], np.ndarray]

CHUNK_WINDOWS = 8192
"""Windows scored per call: the windows of several short streams are scored together (one
call per stream cost more than the scoring itself on a store of ~15,000 files)."""


def mine_top_k(score: ScoreFn, streams: Iterable[np.ndarray], k: int, *, stride: int = 2,
               min_score: float = 0.05,
               should_cancel: Callable[[], bool] | None = None) -> Windows:
    """The ``k`` highest-scoring windows (score > ``min_score``) of embedding ``streams``.

    Windows start every ``stride`` frames; fewer than ``k`` come back when fewer score above
    ``min_score``; equal scores keep the earlier window; they come back lowest score first.
    Windows are scored in batches of about :data:`CHUNK_WINDOWS` across streams; candidates
    are kept in a list and cut back to the best ``k`` whenever they pass ``2 k``, so memory
    stays near ``2 k`` windows plus one batch whatever the streams' length.
    """
    empty = np.zeros((0, WINDOW_FRAMES, EMBEDDING_DIM), np.float32)
    if k <= 0:
        return empty
    kept_x: list[Windows] = []
    kept_s: list[np.ndarray] = []
    kept = 0
    floor = min_score  # a window must score above this to be kept
    batch: list[Windows] = []
    batched = 0

    def cut() -> None:
        nonlocal kept, floor
        x, sc = np.concatenate(kept_x), np.concatenate(kept_s)
        top = np.argsort(-sc, kind="stable")[:k]
        top.sort()  # keep the windows in the order they were found
        kept_x[:], kept_s[:] = [x[top]], [sc[top]]
        kept = len(top)
        if kept >= k:
            floor = max(min_score, float(sc[top].min()))

    def flush() -> None:
        nonlocal batched, kept
        if not batch:
            return
        x = batch[0] if len(batch) == 1 else np.concatenate(batch)
        batch.clear()
        batched = 0
        sc = np.asarray(score(x), np.float32).reshape(-1)
        keep = sc > floor
        if keep.any():
            kept_x.append(x[keep])
            kept_s.append(sc[keep])
            kept += int(keep.sum())
            if kept > 2 * k:
                cut()

    for emb in streams:
        if should_cancel is not None and should_cancel():
            raise CancelledError("training was cancelled")
        if len(emb) < WINDOW_FRAMES:
            continue
        view = np.lib.stride_tricks.sliding_window_view(emb, (WINDOW_FRAMES, emb.shape[1]))
        view = view[::stride, 0]
        for i in range(0, len(view), CHUNK_WINDOWS):
            part = np.ascontiguousarray(view[i:i + CHUNK_WINDOWS], dtype=np.float32)
            batch.append(part)
            batched += len(part)
            if batched >= CHUNK_WINDOWS:
                flush()
    flush()
    if not kept:
        return empty
    cut()
    order = np.argsort(kept_s[0], kind="stable")  # lowest score first, as before batching
    return kept_x[0][order]
