"""Seeded VITS noise for Piper: the model's random ops become inputs filled from numpy.

A Piper voice draws its duration and prior noise with ``RandomNormalLike`` ops, whose
onnxruntime generator is seeded once per session from the clock and then shared by every
run, so a clip's audio depends on the session's history. :func:`noise_as_inputs` replaces
each such op by a slice of a new 1-D float input reshaped to the op's shape, and
:class:`SeededSession` fills those inputs with standard normal noise (the op's own
distribution: mean 0, scale 1) from the rng of the clip being synthesised.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

NOISE_PER_ID = 2048
"""First size of each noise input per phoneme id: room for ~10 frames of 192 channels each."""
MAX_NOISE_LENGTH = 1 << 24


def noise_as_inputs(model: onnx.ModelProto) -> list[str]:
    """Rewrite ``model`` in place; return the new noise inputs' names (one per random op).

    Raises ValueError when a random op is not a plain standard normal (``mean`` 0,
    ``scale`` 1, float32) or sits inside a subgraph.
    """
    import onnx  # imported here: it takes most of a second
    from onnx import TensorProto, helper

    graph = model.graph
    names: list[str] = []
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type in {"RandomNormal", "RandomUniform", "RandomUniformLike", "Multinomial",
                            "Bernoulli"}:
            raise ValueError(f"unsupported random op {node.op_type}")
        if any(a.type == onnx.AttributeProto.GRAPH for a in node.attribute):
            raise ValueError("random ops inside subgraphs are not supported")
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if (float(attrs.get("mean", 0.0)) != 0.0 or float(attrs.get("scale", 1.0)) != 1.0
                or int(attrs.get("dtype", TensorProto.FLOAT)) != TensorProto.FLOAT):
            raise ValueError(f"random op {node.name} is not a float standard normal")
        k = len(names)
        name, prefix = f"wakebuilder_noise_{k}", f"/wakebuilder_noise_{k}"
        names.append(name)
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n"]))
        graph.initializer.append(helper.make_tensor(f"{prefix}/zero", TensorProto.INT64,
                                                    [1], [0]))
        nodes += [
            helper.make_node("Shape", [node.input[0]], [f"{prefix}/shape"]),
            helper.make_node("ReduceProd", [f"{prefix}/shape"], [f"{prefix}/count"],
                             keepdims=1),
            helper.make_node("Slice", [name, f"{prefix}/zero", f"{prefix}/count"],
                             [f"{prefix}/values"]),
            helper.make_node("Reshape", [f"{prefix}/values", f"{prefix}/shape"],
                             [node.output[0]]),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    return names


class SeededSession:
    """An onnxruntime session whose noise inputs come from the calling thread's rng.

    Call :meth:`seeded` before each clip. ``run`` sizes the noise by the number of phoneme
    ids in ``feed["input"]`` and retries with longer noise when the clip needs more (the
    retry is itself deterministic).
    """

    def __init__(self, session: Any, noise_inputs: list[str]) -> None:
        self._session = session
        self._noise_inputs = noise_inputs
        self._local = threading.local()

    def seeded(self, rng: np.random.Generator) -> SeededSession:
        """Draw this thread's next runs' noise from ``rng``; returns ``self``."""
        self._local.rng = rng
        return self

    def run(self, output_names: Any, feed: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        rng: np.random.Generator | None = getattr(self._local, "rng", None)
        if rng is None:
            raise RuntimeError("SeededSession.run called outside seeded()")
        seed = int(rng.integers(2**63 - 1))
        length = NOISE_PER_ID * max(int(np.shape(feed.get("input", [[0]]))[-1]), 1)
        while True:
            noise_rng = np.random.default_rng(seed)
            noise = {name: noise_rng.standard_normal(length, dtype=np.float32)
                     for name in self._noise_inputs}
            try:
                return self._session.run(output_names, {**feed, **noise}, *args, **kwargs)
            except Exception as exc:  # onnxruntime's errors derive from Exception only
                # too little noise fails in the Reshape that follows the Slice
                if length >= MAX_NOISE_LENGTH or "reshape" not in str(exc).lower():
                    raise
                length = min(length * 4, MAX_NOISE_LENGTH)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)
