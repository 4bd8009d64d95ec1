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


def mine_top_k(score: ScoreFn, streams: Iterable[np.ndarray], k: int, *, stride: int = 2,
               min_score: float = 0.05,
               should_cancel: Callable[[], bool] | None = None) -> Windows:
    """The ``k`` highest-scoring windows (score > ``min_score``) of embedding ``streams``.

    Windows start every ``stride`` frames; fewer than ``k`` come back when fewer score above
    ``min_score``. Memory stays near ``2 k`` windows whatever the streams' length.
    """
    best_x = np.zeros((0, WINDOW_FRAMES, EMBEDDING_DIM), np.float32)
    best_s = np.zeros(0, np.float32)
    if k <= 0:
        return best_x
    for emb in streams:
        if should_cancel is not None and should_cancel():
            raise CancelledError("training was cancelled")
        if len(emb) < WINDOW_FRAMES:
            continue
        view = np.lib.stride_tricks.sliding_window_view(emb, (WINDOW_FRAMES, emb.shape[1]))
        view = view[::stride, 0]
        for i in range(0, len(view), CHUNK_WINDOWS):
            x = np.ascontiguousarray(view[i:i + CHUNK_WINDOWS])
            s = score(x)
            keep = s > max(min_score, float(best_s.min()) if len(best_s) >= k else min_score)
            if keep.any():
                best_x = np.concatenate([best_x, x[keep]])
                best_s = np.concatenate([best_s, s[keep]])
                if len(best_s) > 2 * k:
                    top = np.argsort(best_s)[-k:]
                    best_x, best_s = best_x[top], best_s[top]
    top = np.argsort(best_s)[-k:]
    return best_x[top]
