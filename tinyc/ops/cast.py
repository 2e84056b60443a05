"""CAST between int8, int16, int32, uint32 and float32 as TFLM's static_cast (integers wrap, floats truncate
toward zero; quantization is ignored), and SHAPE / FILL / ZEROS_LIKE, which tinyc.passes.fold_constants
turns into constants (their values depend on static shapes and constant operands only)."""

from __future__ import annotations

import numpy as np

from tinyc.errors import GraphError
from tinyc.ir import Graph, Node
from tinyc.ir.tensor import DTYPES
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register

CAST_TYPES = ("int8", "int16", "int32", "uint32", "float32")


def run_cast(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    out = np.dtype(step.params["out_dtype"])
    if x.dtype.kind == "f" and out.kind in "iu":
        x = np.trunc(x).astype(np.int64)  # in range: C's conversion truncates; wider first, then wrap
    return [x.astype(out)]


@register
class Cast(OpDef):
    name = "cast"
    tflite = ("CAST",)
    kernels = {"cast": run_cast}
    dtypes = frozenset((a, b) for a in CAST_TYPES for b in CAST_TYPES)

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape, node, f"shapes {list(x.shape)} and {list(y.shape)} differ")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        return Step("cast", node.name, [x.name], [y.name], {"in_dtype": x.dtype, "out_dtype": y.dtype,
                                                             "size": y.size})


class _Constant(OpDef):
    """An op whose output is known at compile time; `value` computes it and fold_constants puts it in the
    graph as a constant (even when its input is an activation: only the input's shape matters)."""

    dtypes = None

    def value(self, node: Node, graph: Graph) -> np.ndarray:
        raise NotImplementedError

    def check(self, node: Node, graph: Graph) -> None:
        y = graph.tensor(node.outputs[0])
        v = self.value(node, graph)
        expect(v.size == y.size, node, f"output shape {list(y.shape)} does not hold {v.size} values")

    def lower(self, node: Node, graph: Graph) -> Step:
        raise GraphError(f"node '{node.name}' ({node.op}) writes graph output '{node.outputs[0]}': a constant "
                         "output is not supported (tinyc.passes.fold_constants folds every other use)")


@register
class Shape(_Constant):
    name = "shape"
    tflite = ("SHAPE",)
    arity = (1, 1)
    dtypes = frozenset((a, b) for a in DTYPES for b in ("int32", "int64"))

    def value(self, node: Node, graph: Graph) -> np.ndarray:
        return np.array(graph.tensor(node.inputs[0]).shape, np.int64)


@register
class ZerosLike(_Constant):
    name = "zeros_like"
    tflite = ("ZEROS_LIKE",)
    arity = (1, 1)

    def value(self, node: Node, graph: Graph) -> np.ndarray:
        return np.zeros(graph.tensor(node.inputs[0]).shape)


@register
class Fill(_Constant):
    name = "fill"
    tflite = ("FILL",)
    arity = (2, 2)

    def value(self, node: Node, graph: Graph) -> np.ndarray:
        dims, v = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
        expect(dims.is_const and v.is_const, node, "FILL needs constant dims and value")
        return np.full(tuple(int(d) for d in dims.data.reshape(-1)), v.data.reshape(-1)[0])
