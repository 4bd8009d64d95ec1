"""Base class of every augmentation: probability, input checks, float32 out.

A transform draws all its random values in :meth:`Transform.randomize_parameters` (from the
``rng`` it is given, never from global state) and :meth:`Transform.apply` is deterministic
given them, so a draw can be frozen and reused across clips. Transforms keep the last draw
in ``self.parameters``: use one instance per thread or process.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import numpy.typing as npt

from wakebuilder.audio.format import Samples

Parameters = dict[str, Any]


def check_samples(samples: npt.ArrayLike) -> Samples:
    """Return ``samples`` as a 1-D float32 array, or raise ``ValueError`` saying what to change."""
    data = np.asarray(samples)
    if data.ndim != 1:
        raise ValueError(f"expected mono samples of shape (n_samples,), got shape {data.shape}")
    if not np.issubdtype(data.dtype, np.floating):
        raise ValueError(f"expected float32 samples in [-1, 1], got dtype {data.dtype}; "
                         "convert int16 PCM with wakebuilder.audio.format.to_float32")
    return data.astype(np.float32, copy=False)


def draw_seed(rng: np.random.Generator) -> int:
    """Draw a seed for random content that ``apply`` must rebuild deterministically."""
    return int(rng.integers(0, 2**63 - 1))


class Transform:
    """An augmentation of mono float32 16 kHz samples, applied with probability ``p``."""

    def __init__(self, *, p: float = 1.0) -> None:
        """:param p: probability of applying the transform on each call, in [0, 1]."""
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be between 0 and 1, got {p}")
        self.p = float(p)
        self.parameters: Parameters = {}
        self.are_parameters_frozen = False

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        """Draw this call's random values; ``samples`` may inform them (e.g. its length)."""
        return {}

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        """Transform ``samples`` deterministically given ``parameters``."""
        raise NotImplementedError

    def freeze_parameters(self) -> None:
        """Reuse the last draw (including whether to apply) on the following calls."""
        if not self.parameters:
            raise RuntimeError("call the transform once before freezing its parameters")
        self.are_parameters_frozen = True

    def unfreeze_parameters(self) -> None:
        self.are_parameters_frozen = False

    def __call__(self, samples: Samples, rng: np.random.Generator) -> Samples:
        data = check_samples(samples)
        if not self.are_parameters_frozen:
            should_apply = bool(rng.random() < self.p)
            self.parameters = {"should_apply": should_apply}
            if should_apply and data.size:
                self.parameters.update(self.randomize_parameters(data, rng))
        if not self.parameters["should_apply"] or data.size == 0:
            return data
        out = np.asarray(self.apply(data, self.parameters), dtype=np.float32)
        if out.ndim != 1:
            raise RuntimeError(f"{type(self).__name__} returned shape {out.shape}")
        return out

    def __repr__(self) -> str:
        names = [n for n in inspect.signature(type(self).__init__).parameters if n != "self"]
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in names if hasattr(self, n))
        return f"{type(self).__name__}({args})"


def check_range(name_min: str, low: float, name_max: str, high: float) -> None:
    """Raise ``ValueError`` when ``low > high`` (shared by every min/max pair)."""
    if low > high:
        raise ValueError(f"{name_min} must not be greater than {name_max} ({low} > {high})")
