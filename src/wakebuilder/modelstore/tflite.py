"""``.tflite`` export of a head (or an ensemble of heads), calibrated at 0.5.

The torch module tree of :class:`~wakebuilder.training.head.WakeHead` is translated layer by
layer into TFLite builtin operators of version 1, the set the official openWakeWord heads and
the embedding/mel models use (so pyopen-wakeword's bundled TFLite library and ``ai-edge-litert``
both run it): FULLY_CONNECTED, RESHAPE, MEAN, SUB, MUL, ADD, RSQRT, LOGISTIC, plus CONV_2D
(dilated, SAME padding) for TCN heads, REDUCE_MAX for their pooling, SOFTMAX and BATCH_MATMUL
for attention pooling, and ABS, NEG, EXP, LOG and RELU for an ensemble's calibration. ReLU is
fused into the preceding operator where it can be.
Input ``[1, 16, 96]`` float32, output ``[1, 1]`` float32: the calibrated score of
:mod:`wakebuilder.modelstore.calibration`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from wakebuilder.errors import ExportError
from wakebuilder.features.frontend import EMBEDDING_DIM, WINDOW_FRAMES
from wakebuilder.modelstore.calibration import logit_shift
from wakebuilder.modelstore.tflite_graph import TFLiteGraph
from wakebuilder.training.head import AttentionPool, AveragedHeads, SqueezeExcite, WakeHead

RELU = 1  # ActivationFunctionType.RELU
SAME = 0  # Padding.SAME


def _np(t: torch.Tensor) -> npt.NDArray[np.float32]:
    return t.detach().cpu().numpy().astype(np.float32)


class _HeadWriter:
    """Emits the operators of one head into a shared graph. Activations are 2-D ``[rows, C]``."""

    def __init__(self, g: TFLiteGraph, prefix: str) -> None:
        self.g = g
        self.prefix = prefix

    def const(self, name: str, value: npt.ArrayLike, dtype: type = np.float32) -> int:
        return self.g.constant(f"{self.prefix}/{name}", value, dtype)

    def reshape(self, x: int, shape: tuple[int, ...]) -> int:
        s = self.const("shape", np.asarray(shape), np.int32)
        return self.g.op("RESHAPE", [x, s], shape)

    def linear(self, x: int, lin: nn.Linear, act: int = 0, *,
               weight: npt.NDArray[np.float32] | None = None,
               bias: npt.NDArray[np.float32] | None = None) -> int:
        w = _np(lin.weight) if weight is None else weight
        b = (_np(lin.bias) if lin.bias is not None else np.zeros(w.shape[0], np.float32)
             ) if bias is None else bias
        rows = self.g.shape(x)[0]
        return self.g.op("FULLY_CONNECTED", [x, self.const("w", w), self.const("b", b)],
                         (rows, w.shape[0]), options="FullyConnectedOptions",
                         FusedActivationFunction=act)

    def mean_last(self, x: int) -> int:
        axis = self.const("axis", [1], np.int32)
        return self.g.op("MEAN", [x, axis], (self.g.shape(x)[0], 1), options="ReducerOptions",
                         KeepDims=True)

    def layer_norm(self, x: int, ln: nn.LayerNorm, act: int = 0) -> int:
        g, shape = self.g, self.g.shape(x)
        d = g.op("SUB", [x, self.mean_last(x)], shape, options="SubOptions")
        var = self.mean_last(g.op("MUL", [d, d], shape, options="MulOptions"))
        eps = self.const("eps", np.full((1,), ln.eps, np.float32))
        r = g.op("RSQRT", [g.op("ADD", [var, eps], g.shape(var), options="AddOptions")],
                 g.shape(var))
        y = g.op("MUL", [d, r], shape, options="MulOptions")
        y = g.op("MUL", [y, self.const("gamma", _np(ln.weight))], shape, options="MulOptions")
        return g.op("ADD", [y, self.const("beta", _np(ln.bias))], shape, options="AddOptions",
                    FusedActivationFunction=act)

    def sequential(self, x: int, seq: nn.Module, *, skip_last: bool = False) -> int:
        """Linear / LayerNorm / ReLU / Dropout / Sigmoid chains (ReLU fused when possible)."""
        mods = [m for m in (seq if isinstance(seq, nn.Sequential) else [seq])
                if not isinstance(m, nn.Dropout)]
        if skip_last:
            mods = mods[:-1]
        i = 0
        while i < len(mods):
            m = mods[i]
            fuse = RELU if i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU) else 0
            if isinstance(m, nn.Linear):
                x = self.linear(x, m, fuse)
            elif isinstance(m, nn.LayerNorm):
                x = self.layer_norm(x, m, fuse)
            elif isinstance(m, nn.ReLU):
                x, fuse = self.g.op("RELU", [x], self.g.shape(x)), 0
            elif isinstance(m, nn.Sigmoid):
                x = self.g.op("LOGISTIC", [x], self.g.shape(x))
            else:
                raise ExportError(f"TFLite export: no translation for {type(m).__name__} "
                                  "layers", {"layer": type(m).__name__})
            i += 2 if fuse else 1
        return x

    def softplus(self, y: int) -> int:
        """``relu(y) + log(1 + exp(-|y|))`` (as :func:`calibration.softplus`)."""
        g, shape = self.g, self.g.shape(y)
        e = g.op("EXP", [g.op("NEG", [g.op("ABS", [y], shape)], shape)], shape)
        one = self.const("one", np.ones((1,), np.float32))
        log1p = g.op("LOG", [g.op("ADD", [one, e], shape, options="AddOptions")], shape)
        return g.op("ADD", [g.op("RELU", [y], shape), log1p], shape, options="AddOptions")

    def squeeze_excite(self, x: int, se: SqueezeExcite) -> int:
        g = self.g
        rows, ch = g.shape(x)
        axis = self.const("axis", [0], np.int32)
        m = g.op("MEAN", [x, axis], (1, ch), options="ReducerOptions", KeepDims=True)
        s = self.sequential(m, se.fc)
        return g.op("MUL", [x, s], (rows, ch), options="MulOptions")

    def tcn(self, x: int, seq: nn.Module) -> int:
        g = self.g
        rows, ch = g.shape(x)
        y = self.reshape(x, (1, rows, 1, ch))  # NHWC with H = frames
        mods = list(seq) if isinstance(seq, nn.Sequential) else [seq]
        i = 0
        while i < len(mods):
            m = mods[i]
            if not isinstance(m, nn.Conv1d):
                raise ExportError(f"TFLite export: unexpected {type(m).__name__} in a TCN",
                                  {"layer": type(m).__name__})
            k, d, p = m.kernel_size[0], m.dilation[0], m.padding
            if m.stride[0] != 1 or m.groups != 1 or p not in ((d * (k - 1) // 2,),) or k % 2 == 0:
                raise ExportError("TFLite export: only stride-1, ungrouped, 'same'-padded "
                                  "odd-kernel Conv1d layers translate",
                                  {"kernel": k, "dilation": d, "padding": str(p)})
            fuse = RELU if i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU) else 0
            w = _np(m.weight).transpose(0, 2, 1)[:, :, None, :]  # OHWI: (out, k, 1, in)
            b = _np(m.bias) if m.bias is not None else np.zeros(w.shape[0], np.float32)
            y = g.op("CONV_2D", [y, self.const("w", w), self.const("b", b)],
                     (1, rows, 1, w.shape[0]), options="Conv2DOptions", Padding=SAME,
                     StrideW=1, StrideH=1, DilationWFactor=1, DilationHFactor=d,
                     FusedActivationFunction=fuse)
            ch = w.shape[0]
            i += 2 if fuse else 1
        return self.reshape(y, (rows, ch))

    def attention_pool(self, x: int, pool: AttentionPool) -> int:
        g = self.g
        rows, ch = g.shape(x)
        scores = self.reshape(self.linear(x, pool.score), (1, rows))
        weights = g.op("SOFTMAX", [scores], (1, rows), options="SoftmaxOptions", Beta=1.0)
        return g.op("BATCH_MATMUL", [weights, x], (1, ch), options="BatchMatMulOptions",
                    AdjX=False, AdjY=False)

    def features(self, x: int, head: WakeHead) -> int:
        """Everything up to (not including) the last Linear layer: a ``[1, hidden]`` tensor."""
        g = self.g
        z = self.sequential(x, head.frame_proj)
        if head.se is not None:
            z = self.squeeze_excite(z, head.se)
        if head.tcn is not None:
            z = self.tcn(z, head.tcn)
        if head.pool is not None:
            z = self.attention_pool(z, head.pool)
        elif head.tcn is not None:
            axis = self.const("axis", [0], np.int32)
            z = g.op("REDUCE_MAX", [z, axis], (1, g.shape(z)[1]), options="ReducerOptions",
                     KeepDims=True)
        else:
            rows, ch = g.shape(z)
            z = self.reshape(z, (1, rows * ch))
        return self.sequential(z, head.classifier, skip_last=True)


def _last_linear(head: WakeHead) -> nn.Linear:
    last = [m for m in head.classifier if not isinstance(m, nn.Dropout)][-1]
    if not isinstance(last, nn.Linear) or last.out_features != 1:
        raise ExportError("TFLite export: a head must end in a Linear layer with one output",
                          {"layer": type(last).__name__})
    return last


def build_tflite(model: AveragedHeads, threshold: float) -> bytes:
    """The ``.tflite`` file of ``model``, calibrated so that 0.5 == ``threshold``."""
    heads = list(model.heads)
    if not heads or not all(isinstance(h, WakeHead) for h in heads):
        raise ExportError("TFLite export needs an AveragedHeads of WakeHead modules")
    shift = np.float32(logit_shift(threshold))
    g = TFLiteGraph()
    x = g.input("features", (1, WINDOW_FRAMES, EMBEDDING_DIM))
    w0 = _HeadWriter(g, "input")
    frames = w0.reshape(x, (WINDOW_FRAMES, EMBEDDING_DIM))
    if len(heads) == 1:
        w = _HeadWriter(g, "head0")
        last = _last_linear(heads[0])
        logit = w.linear(w.features(frames, heads[0]), last,
                         bias=_np(last.bias) - shift)  # logit shift folded into the bias
        out = g.op("LOGISTIC", [logit], (1, 1))
    else:
        total = None
        for i, head in enumerate(heads):
            w = _HeadWriter(g, f"head{i}")
            last = _last_linear(head)
            wt, b = _np(last.weight), _np(last.bias)
            # One layer gives [-z, z]; exp(-softplus(.)) then gives [sigmoid(z), sigmoid(-z)].
            y = w.linear(w.features(frames, head), last, weight=np.concatenate([-wt, wt]),
                         bias=np.concatenate([-b, b]))
            pq = g.op("EXP", [g.op("NEG", [w.softplus(y)], (1, 2))], (1, 2))
            total = pq if total is None else g.op("ADD", [total, pq], (1, 2),
                                                  options="AddOptions")
        assert total is not None
        w = _HeadWriter(g, "calibration")
        logs = g.op("LOG", [total], (1, 2))  # [log P, log Q]
        logit = g.op("FULLY_CONNECTED", [logs, w.const("w", [[1.0, -1.0]]),
                                         w.const("b", [-shift])], (1, 1),
                     options="FullyConnectedOptions", FusedActivationFunction=0)
        out = g.op("LOGISTIC", [logit], (1, 1))
    g.tensors[out].name = "score"
    g.outputs.append(out)
    return g.serialize("WakeBuilder wake-word head (calibrated: 0.5 = model threshold)")


def export_tflite(model: AveragedHeads, path: Path, threshold: float) -> Path:
    """Write :func:`build_tflite` to ``path``."""
    model.eval()
    with torch.no_grad():
        data = build_tflite(model, threshold)
    path.write_bytes(data)
    return path
