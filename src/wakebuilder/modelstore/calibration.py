"""The calibration carried inside exported graphs: score 0.5 there == the calibrated threshold.

WakeBuilder reports scores and thresholds on the *raw* scale (the head's probability, mean of
sigmoids for an ensemble). Third-party runtimes (openWakeWord, pyopen-wakeword, Home
Assistant's wyoming-openwakeword) use one threshold for every model, 0.5 by default. So the
exported ``.onnx`` (its first output, ``score``) and ``.tflite`` give a *calibrated* score::

    calibrated = sigmoid(logit(raw) - logit(t))        (t = the model's threshold)

a monotone map with ``calibrated(t) == 0.5``: it divides the odds of the raw score by the odds
of the threshold, so ``calibrated >= 0.5`` exactly when ``raw >= t``. The inverse is
``raw = sigmoid(logit(calibrated) + logit(t))``.

How ``logit(raw)`` is computed matters near 1.0 in float32 (raw scores of 0.99-0.9999 are
common and ``1 - raw`` then keeps only a few bits):

- one head: ``logit(raw)`` is the head's own final logit ``z``, so the map is a logit shift,
  ``sigmoid(z - logit(t))``, folded into the last layer's bias in the ``.tflite``.
- an ensemble of n heads (``raw = mean_i sigmoid(z_i)``): ``logit(raw) = log(P) - log(Q)`` with
  ``P = sum_i sigmoid(z_i)`` and ``Q = sum_i sigmoid(-z_i)``. ``Q`` is the complement
  ``n (1 - raw)`` accumulated directly from each head, never as ``1 - raw``, so it keeps full
  relative precision when every head is confident. Each term is computed as
  ``exp(-softplus(-/+z_i))`` with ``softplus(y) = relu(y) + log(1 + exp(-|y|))``, not with the
  runtimes' sigmoid kernels: onnxruntime's is accurate only in absolute terms (~1e-7), which
  for three heads at logits 14-17 moved the calibrated score by 3.9e-4 (measured). No clamp
  is needed: ``Q`` underflowing to 0 gives ``log Q = -inf`` and a calibrated score of exactly
  1, ``P == 0`` gives 0, and ``P`` and ``Q`` cannot both vanish. The alternatives are worse:
  a clamped ``logit(mean)`` quantises the top of the range to float32's spacing next to 1.0
  (6e-8, logit steps of ~1 near raw 0.9999), a mean of logits changes which windows pass the
  threshold, and a piecewise-linear map keeps the resolution problem of ``1 - raw``.

The ONNX graph also keeps the raw score as a second output, ``raw_score``, which WakeBuilder's
own :class:`~wakebuilder.detection.model.WakeModel` reads; openWakeWord 0.6.0 reads only the
first output (``run(None, ...)[0]``) and pyopen-wakeword only output tensor 0 of a
``.tflite``, which has just the calibrated score.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from wakebuilder.training.head import AveragedHeads

METHOD = "logit_shift"
THRESHOLD_EPS = 1e-6
"""Thresholds are clipped to ``[eps, 1 - eps]`` so the shift stays finite."""

SCORE_SCALE_RAW = "raw"
SCORE_SCALE_CALIBRATED = "calibrated"


def logit_shift(threshold: float) -> float:
    """``logit(t)`` of the (clipped) threshold, in float64."""
    t = min(max(float(threshold), THRESHOLD_EPS), 1.0 - THRESHOLD_EPS)
    return math.log(t) - math.log1p(-t)


def calibrate(raw: npt.ArrayLike, threshold: float) -> npt.NDArray[np.float64]:
    """Raw scores to the calibrated scale (numpy reference of the in-graph transform)."""
    r = np.clip(np.asarray(raw, dtype=np.float64), 1e-300, 1.0)
    z = np.log(r) - np.log1p(-np.minimum(r, 1 - 1e-16)) - logit_shift(threshold)
    return 1.0 / (1.0 + np.exp(-z))


def uncalibrate(calibrated: npt.ArrayLike, threshold: float) -> npt.NDArray[np.float64]:
    """The exact inverse of :func:`calibrate`: calibrated scores back to the raw scale."""
    c = np.clip(np.asarray(calibrated, dtype=np.float64), 1e-300, 1 - 1e-16)
    z = np.log(c) - np.log1p(-c) + logit_shift(threshold)
    return 1.0 / (1.0 + np.exp(-z))


def calibration_record(threshold: float, n_heads: int) -> dict[str, Any]:
    """What the manifest stores about the transform (enough to invert it)."""
    return {"method": METHOD, "threshold": float(threshold),
            "logit_shift": logit_shift(threshold), "calibrated_threshold": 0.5,
            "ensemble_logit": "log(sum sigmoid(z_i)) - log(sum sigmoid(-z_i))"
            if n_heads > 1 else "z",
            "formula": "calibrated = sigmoid(logit(raw) - logit_shift)"}


def score_scales(files: dict[str, str]) -> dict[str, str]:
    """Which scale each score uses: the manifest's threshold and metrics, the ``.pt`` head,
    each ONNX output (``onnx:score``, ``onnx:raw_score``) and the ``.tflite``."""
    scales = {"threshold": SCORE_SCALE_RAW, "metrics": SCORE_SCALE_RAW, "pt": SCORE_SCALE_RAW,
              "onnx:score": SCORE_SCALE_CALIBRATED, "onnx:raw_score": SCORE_SCALE_RAW}
    if "tflite" in files:
        scales["tflite"] = SCORE_SCALE_CALIBRATED
    return scales


class CalibratedHeads(nn.Module):
    """Exported form of :class:`AveragedHeads`: ``(calibrated score, raw score)``."""

    def __init__(self, model: AveragedHeads, threshold: float) -> None:
        super().__init__()
        self.model = model
        self.shift = logit_shift(threshold)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.stack([h.logits(x) for h in self.model.heads])  # (n, B, 1)
        raw = torch.sigmoid(z).mean(dim=0)
        if len(self.model.heads) == 1:
            calibrated = torch.sigmoid(z[0] - self.shift)
        else:
            pq = torch.exp(-softplus(torch.cat([-z, z], dim=-1))).sum(dim=0)  # (B, 2): P, Q
            log_pq = torch.log(pq)
            calibrated = torch.sigmoid(log_pq[:, :1] - log_pq[:, 1:] - self.shift)
        return calibrated, raw


def softplus(y: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(y))`` without overflow, from elementary ops every runtime has."""
    return torch.relu(y) + torch.log(1.0 + torch.exp(-torch.abs(y)))
