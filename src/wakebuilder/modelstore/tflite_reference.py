"""A small numpy interpreter for the ``.tflite`` files :mod:`wakebuilder.modelstore.tflite`
writes: it reads the file back through the schema and runs its operators, so an export can be
checked at publish time without a TFLite runtime in the dependencies.

It covers exactly the float32 operators the exporter emits; anything else raises
:class:`~wakebuilder.errors.ExportError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.TensorType import TensorType

from wakebuilder.errors import ExportError

FloatArray = npt.NDArray[np.float32]
_OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}


def _options(op: Any, cls: type) -> Any:
    table = op.BuiltinOptions()
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _act(x: FloatArray, code: int) -> FloatArray:
    if code == 0:
        return x
    if code == 1:
        return np.maximum(x, np.float32(0))
    raise ExportError(f"TFLite reference: fused activation {code} is not supported")


def _conv2d(x: FloatArray, w: FloatArray, b: FloatArray, opts: Any) -> FloatArray:
    """NHWC input, OHWI filter, stride 1, SAME padding, dilation."""
    if opts.StrideH() != 1 or opts.StrideW() != 1 or opts.Padding() != 0:
        raise ExportError("TFLite reference: only stride-1 SAME convolutions are supported")
    dh, dw = opts.DilationHFactor(), opts.DilationWFactor()
    _, kh, kw, _ = w.shape
    ph, pw = dh * (kh - 1), dw * (kw - 1)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    h, wd = x.shape[1], x.shape[2]
    out = np.zeros(x.shape[:3] + (w.shape[0],), np.float32)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * dh:i * dh + h, j * dw:j * dw + wd, :]
            out += patch @ w[:, i, j, :].T
    return _act(out + b, opts.FusedActivationFunction())


class TFLiteReference:
    """A ``.tflite`` file read once (constants, operators), then run on any number of inputs."""

    def __init__(self, data: bytes) -> None:
        model = tflite.Model.GetRootAsModel(data, 0)
        sg = model.Subgraphs(0)
        self.constants: dict[int, npt.NDArray[Any]] = {}
        for i in range(sg.TensorsLength()):
            t = sg.Tensors(i)
            buf = model.Buffers(t.Buffer())
            if buf.DataLength():
                dtype = {TensorType.FLOAT32: np.float32, TensorType.INT32: np.int32}[t.Type()]
                self.constants[i] = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype
                                                  ).reshape(t.ShapeAsNumpy()
                                                            if t.ShapeLength() else ())
        self.input = sg.Inputs(0)
        self.outputs = [sg.Outputs(j) for j in range(sg.OutputsLength())]
        self.steps: list[tuple[Callable[[Any, list[FloatArray]], FloatArray], Any, list[int],
                               int]] = []
        for k in range(sg.OperatorsLength()):
            op = sg.Operators(k)
            code = model.OperatorCodes(op.OpcodeIndex())
            name = _OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
            fn = _KERNELS.get(name)
            if fn is None:
                raise ExportError(f"TFLite reference: operator {name} is not supported")
            self.steps.append((fn, op, [op.Inputs(j) for j in range(op.InputsLength())],
                               op.Outputs(0)))

    def __call__(self, x: FloatArray) -> list[FloatArray]:
        """Outputs of the graph for the single input ``x``."""
        values: dict[int, Any] = dict(self.constants)
        values[self.input] = np.asarray(x, np.float32)
        with np.errstate(divide="ignore", over="ignore"):  # log(0) = -inf, exp overflow -> 0
            for fn, op, ins, out in self.steps:
                values[out] = np.asarray(fn(op, [values[i] for i in ins]), np.float32)
        return [values[o] for o in self.outputs]


def run_tflite(data: bytes, x: FloatArray) -> list[FloatArray]:
    """Outputs of the graph in ``data`` for the single input ``x``."""
    return TFLiteReference(data)(x)


def _reduce(fn: Callable[..., FloatArray]) -> Callable[[Any, list[FloatArray]], FloatArray]:
    def kernel(op: Any, ins: list[FloatArray]) -> FloatArray:
        keep = _options(op, tflite.ReducerOptions).KeepDims()
        return fn(ins[0], axis=tuple(int(a) for a in ins[1].reshape(-1)), keepdims=keep)
    return kernel


def _binary(fn: Callable[[FloatArray, FloatArray], FloatArray], cls: type
            ) -> Callable[[Any, list[FloatArray]], FloatArray]:
    def kernel(op: Any, ins: list[FloatArray]) -> FloatArray:
        return _act(fn(ins[0], ins[1]), _options(op, cls).FusedActivationFunction())
    return kernel


def _fully_connected(op: Any, ins: list[FloatArray]) -> FloatArray:
    w = ins[1]
    y = ins[0].reshape(-1, w.shape[1]) @ w.T
    if len(ins) > 2:
        y = y + ins[2]
    return _act(y, _options(op, tflite.FullyConnectedOptions).FusedActivationFunction())


def _softmax(op: Any, ins: list[FloatArray]) -> FloatArray:
    z = ins[0] * _options(op, tflite.SoftmaxOptions).Beta()
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _batch_matmul(op: Any, ins: list[FloatArray]) -> FloatArray:
    o = _options(op, tflite.BatchMatMulOptions)
    a = np.swapaxes(ins[0], -1, -2) if o.AdjX() else ins[0]
    b = np.swapaxes(ins[1], -1, -2) if o.AdjY() else ins[1]
    return a @ b


_KERNELS: dict[str, Callable[[Any, list[FloatArray]], FloatArray]] = {
    "FULLY_CONNECTED": _fully_connected,
    "RESHAPE": lambda op, ins: ins[0].reshape(ins[1].reshape(-1)),
    "MEAN": _reduce(np.mean),
    "REDUCE_MAX": _reduce(np.max),
    "ADD": _binary(np.add, tflite.AddOptions),
    "SUB": _binary(np.subtract, tflite.SubOptions),
    "MUL": _binary(np.multiply, tflite.MulOptions),
    "RSQRT": lambda op, ins: 1.0 / np.sqrt(ins[0]),
    "LOGISTIC": lambda op, ins: 1.0 / (1.0 + np.exp(-ins[0])),
    "LOG": lambda op, ins: np.log(ins[0]),
    "EXP": lambda op, ins: np.exp(ins[0]),
    "ABS": lambda op, ins: np.abs(ins[0]),
    "NEG": lambda op, ins: -ins[0],
    "RELU": lambda op, ins: np.maximum(ins[0], np.float32(0)),
    "SOFTMAX": _softmax,
    "BATCH_MATMUL": _batch_matmul,
    "CONV_2D": lambda op, ins: _conv2d(ins[0], ins[1], ins[2],
                                       _options(op, tflite.Conv2DOptions)),
}
