"""A minimal TFLite flatbuffer writer: float32 tensors, constant buffers and builtin operators.

No TensorFlow: the schema comes from the ``tflite`` package (generated flatbuffer code) and
the file is assembled with ``flatbuffers``. Only what a single-subgraph float inference
graph needs is supported; :mod:`wakebuilder.modelstore.tflite` builds the heads with it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
import numpy.typing as npt
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
BUFFER_ALIGNMENT = 16
_DTYPES = {np.dtype(np.float32): TensorType.FLOAT32, np.dtype(np.int32): TensorType.INT32}


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: int
    buffer: int


@dataclass
class _Op:
    code: int
    version: int
    inputs: list[int]
    outputs: list[int]
    options: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def _module(name: str) -> Any:
    return importlib.import_module(f"tflite.{name}")


class TFLiteGraph:
    """One subgraph under construction. Tensors are referred to by index."""

    def __init__(self) -> None:
        self.tensors: list[_Tensor] = []
        self.buffers: list[bytes] = [b""]  # buffer 0: the empty sentinel the format expects
        self.ops: list[_Op] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self._names: set[str] = set()

    def _name(self, base: str) -> str:
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return name

    def input(self, name: str, shape: tuple[int, ...]) -> int:
        """A float32 graph input."""
        t = self.activation(name, shape)
        self.inputs.append(t)
        return t

    def activation(self, name: str, shape: tuple[int, ...]) -> int:
        """A float32 tensor computed at run time."""
        self.tensors.append(_Tensor(self._name(name), tuple(shape), TensorType.FLOAT32, 0))
        return len(self.tensors) - 1

    def constant(self, name: str, value: npt.ArrayLike, dtype: type = np.float32) -> int:
        """A constant tensor (float32 or int32) stored in its own buffer."""
        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        self.buffers.append(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
        self.tensors.append(_Tensor(self._name(name), tuple(arr.shape), _DTYPES[arr.dtype],
                                    len(self.buffers) - 1))
        return len(self.tensors) - 1

    def op(self, name: str, inputs: list[int], out_shape: tuple[int, ...], *,
           options: str | None = None, version: int = 1, **fields: Any) -> int:
        """Append builtin operator ``name`` (e.g. ``"FULLY_CONNECTED"``); returns its output.

        ``options`` names the options table (``"FullyConnectedOptions"``) and ``fields`` its
        scalar fields in the schema's spelling (``FusedActivationFunction=1``).
        """
        out = self.activation(name.lower(), out_shape)
        self.ops.append(_Op(getattr(BuiltinOperator, name), version, list(inputs), [out],
                            options, fields))
        return out

    def shape(self, tensor: int) -> tuple[int, ...]:
        return self.tensors[tensor].shape

    # -- serialisation --------------------------------------------------------------------
    def serialize(self, description: str = "") -> bytes:
        """The complete ``.tflite`` file."""
        b = flatbuffers.Builder(1024 + sum(len(x) for x in self.buffers))
        m_buf, m_ten, m_op, m_code = (_module(n) for n in
                                      ("Buffer", "Tensor", "Operator", "OperatorCode"))
        m_sg, m_model = _module("SubGraph"), _module("Model")

        data_offsets = [_aligned_bytes(b, data) if data else None for data in self.buffers]
        buffer_offsets = []
        for off in data_offsets:
            m_buf.BufferStart(b)
            if off is not None:
                m_buf.BufferAddData(b, off)
            buffer_offsets.append(m_buf.BufferEnd(b))

        tensor_offsets = []
        for t in self.tensors:
            name = b.CreateString(t.name)
            shape = b.CreateNumpyVector(np.asarray(t.shape, dtype=np.int32))
            m_ten.TensorStart(b)
            m_ten.TensorAddShape(b, shape)
            m_ten.TensorAddType(b, t.dtype)
            m_ten.TensorAddBuffer(b, t.buffer)
            m_ten.TensorAddName(b, name)
            tensor_offsets.append(m_ten.TensorEnd(b))

        codes: dict[tuple[int, int], int] = {}
        op_offsets = []
        for op in self.ops:
            index = codes.setdefault((op.code, op.version), len(codes))
            opts = None
            if op.options is not None:
                mod = _module(op.options)
                getattr(mod, f"{op.options}Start")(b)
                for key, value in op.fields.items():
                    getattr(mod, f"{op.options}Add{key}")(b, value)
                opts = getattr(mod, f"{op.options}End")(b)
            ins = b.CreateNumpyVector(np.asarray(op.inputs, dtype=np.int32))
            outs = b.CreateNumpyVector(np.asarray(op.outputs, dtype=np.int32))
            m_op.OperatorStart(b)
            m_op.OperatorAddOpcodeIndex(b, index)
            m_op.OperatorAddInputs(b, ins)
            m_op.OperatorAddOutputs(b, outs)
            if opts is not None:
                m_op.OperatorAddBuiltinOptionsType(b, getattr(BuiltinOptions, op.options))
                m_op.OperatorAddBuiltinOptions(b, opts)
            op_offsets.append(m_op.OperatorEnd(b))

        code_offsets = []
        for code, version in codes:
            m_code.OperatorCodeStart(b)
            m_code.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            m_code.OperatorCodeAddBuiltinCode(b, code)
            m_code.OperatorCodeAddVersion(b, version)
            code_offsets.append(m_code.OperatorCodeEnd(b))

        tensors = _offset_vector(b, m_sg.SubGraphStartTensorsVector, tensor_offsets)
        inputs = b.CreateNumpyVector(np.asarray(self.inputs, dtype=np.int32))
        outputs = b.CreateNumpyVector(np.asarray(self.outputs, dtype=np.int32))
        operators = _offset_vector(b, m_sg.SubGraphStartOperatorsVector, op_offsets)
        sg_name = b.CreateString("main")
        m_sg.SubGraphStart(b)
        m_sg.SubGraphAddTensors(b, tensors)
        m_sg.SubGraphAddInputs(b, inputs)
        m_sg.SubGraphAddOutputs(b, outputs)
        m_sg.SubGraphAddOperators(b, operators)
        m_sg.SubGraphAddName(b, sg_name)
        subgraph = m_sg.SubGraphEnd(b)

        subgraphs = _offset_vector(b, m_model.ModelStartSubgraphsVector, [subgraph])
        opcodes = _offset_vector(b, m_model.ModelStartOperatorCodesVector, code_offsets)
        buffers = _offset_vector(b, m_model.ModelStartBuffersVector, buffer_offsets)
        desc = b.CreateString(description)
        m_model.ModelStart(b)
        m_model.ModelAddVersion(b, SCHEMA_VERSION)
        m_model.ModelAddOperatorCodes(b, opcodes)
        m_model.ModelAddSubgraphs(b, subgraphs)
        m_model.ModelAddDescription(b, desc)
        m_model.ModelAddBuffers(b, buffers)
        b.Finish(m_model.ModelEnd(b), file_identifier=FILE_IDENTIFIER)
        return bytes(b.Output())


def _aligned_bytes(b: flatbuffers.Builder, data: bytes) -> int:
    """A ubyte vector whose payload starts on a :data:`BUFFER_ALIGNMENT` boundary."""
    b.StartVector(1, len(data), BUFFER_ALIGNMENT)
    b.head = b.head - len(data)
    b.Bytes[b.head:b.head + len(data)] = data
    return b.EndVector(len(data))


def _offset_vector(b: flatbuffers.Builder, start: Any, offsets: list[int]) -> int:
    start(b, len(offsets))
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector(len(offsets))
