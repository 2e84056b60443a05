"""An ONNX backend (onnx.backend.base) over tinyc: the reference runtime ("ref") or the generated host C ("host").

`TinycBackend.prepare(model, device="CPU", target="ref")` keeps the model; `BackendRep.run(inputs)` binds the
inputs an MCU model holds constant (below) as initializers, converts the model with tinyc's ONNX frontend and
runs it. Anything tinyc cannot compile raises its TinycError (an UnsupportedOpError naming the op, node and
model), never a guessed answer.

Bound as constants: every graph input read at a parameter position of its consumer (weights, biases, indices,
shapes, axes, pads, scales, clip bounds, conditions, ...), per PARAMETER_INPUTS. Inputs read anywhere else stay
graph inputs, i.e. activations the model computes on (tinyc's ONNX frontend reads float32 ones).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import Backend, BackendRep, Device, DeviceType

from tinyc.errors import InputError
from tinyc.frontends.onnx import convert_model

TARGETS = ("ref", "host")

# op -> the input positions that hold parameters (weights, shapes, pads, scales, bounds) on a microcontroller
PARAMETER_INPUTS: dict[str, frozenset[int]] = {
    op: frozenset(pos) for op, pos in {
        "Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,), "Einsum": (1,),
        "BatchNormalization": (1, 2, 3, 4), "InstanceNormalization": (1, 2), "LayerNormalization": (1, 2),
        "PRelu": (1,), "Pad": (1, 2, 3), "Clip": (1, 2), "Resize": (1, 2, 3), "Upsample": (1,),
        "Reshape": (1,), "Expand": (1,), "Tile": (1,), "Slice": (1, 2, 3, 4), "Split": (1,), "TopK": (1,),
        "Squeeze": (1,), "Unsqueeze": (1,), "ReduceMean": (1,), "ReduceSum": (1,), "ReduceMax": (1,),
        "ReduceMin": (1,), "ReduceL2": (1,), "ReduceL1": (1,), "ReduceProd": (1,), "ReduceSumSquare": (1,),
        "ReduceLogSumExp": (1,), "ReduceLogSum": (1,), "Range": (0, 1, 2), "ConstantOfShape": (0,),
        "Gather": (1,), "GatherElements": (1,), "GatherND": (1,), "Where": (0,), "Compress": (1,),
        "OneHot": (0, 1, 2), "Trilu": (1,), "CumSum": (1,), "Pow": (1,),
        "LSTM": (1, 2, 3, 4, 5, 6, 7), "GRU": (1, 2, 3, 4, 5),  # weights, biases, lengths, initial states
    }.items()
}


def bind_constants(model: onnx.ModelProto, inputs: Sequence[np.ndarray]) -> onnx.ModelProto:
    """A copy of `model` whose constant-held graph inputs (see the module doc) are initializers of `inputs`."""
    graph = model.graph
    inits = {t.name for t in graph.initializer}
    feeds = [v for v in graph.input if v.name not in inits]
    if len(inputs) != len(feeds):
        raise InputError(f"model '{graph.name}' takes {len(feeds)} inputs, got {len(inputs)}")
    params = {name for node in graph.node for k, name in enumerate(node.input)
              if k in PARAMETER_INPUTS.get(node.op_type, ()) and not node.domain}
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    keep = []
    for v, x in zip(feeds, inputs, strict=True):
        x = np.asarray(x)
        if v.name in params:
            bound.graph.initializer.append(numpy_helper.from_array(x, v.name))
        else:
            keep.append(v.name)
    kept = [v for v in bound.graph.input if v.name in keep or v.name in inits]
    del bound.graph.input[:]
    bound.graph.input.extend(kept)
    return bound


class TinycRep(BackendRep):
    """A prepared model: each run binds its constant inputs, compiles and runs on the chosen target."""

    def __init__(self, model: onnx.ModelProto, target: str):
        self.model, self.target = model, target

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        from tinyc.lower import lower
        from tinyc.memory import plan_memory
        from tinyc.pipeline import run_model

        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        elif isinstance(inputs, dict):
            order = [v.name for v in self.model.graph.input]
            inputs = [inputs[name] for name in order if name in inputs]
        bound = bind_constants(self.model, list(inputs))
        graph = convert_model(bound, f"<onnx backend: {self.model.graph.name or 'model'}>")
        fed = {v.name: np.asarray(x) for v, x in zip(
            [v for v in self.model.graph.input if v.name not in {t.name for t in self.model.graph.initializer}],
            inputs, strict=True)}
        batches = [fed[name][np.newaxis] for name in graph.inputs]
        outputs, _ = run_model(plan_memory(lower(graph)), batches, self.target)
        # the IR holds an ONNX scalar as shape (1,): give each output its ONNX shape (the same values)
        inferred = onnx.shape_inference.infer_shapes(bound).graph.output
        shapes = [tuple(d.dim_value for d in v.type.tensor_type.shape.dim) for v in inferred]
        return tuple(out[0].reshape(shape) if math.prod(shape) == out[0].size else out[0]
                     for out, shape in zip(outputs, shapes, strict=True))


class TinycBackend(Backend):
    """onnx.backend.base.Backend over tinyc; prepare(..., target="ref" | "host") picks the runtime."""

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> TinycRep:
        target = kwargs.pop("target", "ref")
        if target not in TARGETS:
            raise InputError(f"unknown ONNX backend target '{target}' (expected one of: {', '.join(TARGETS)})")
        if not cls.supports_device(device):
            raise InputError(f"device '{device}' is not supported by tinyc (CPU only)")
        return TinycRep(model, target)

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU",
                  **kwargs: Any) -> tuple[np.ndarray, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Any, device: str = "CPU",
                 outputs_info: Any = None, **kwargs: Any) -> tuple[np.ndarray, ...]:
        raise InputError("tinyc's ONNX backend runs models, not single nodes: wrap the node in a graph")

    @classmethod
    def supports_device(cls, device: str) -> bool:
        try:
            return Device(device).type == DeviceType.CPU
        except AttributeError:
            return False
