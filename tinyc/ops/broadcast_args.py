"""BROADCAST_ARGS: the broadcast shape of two shape vectors (int32 or int64). Taken only when both are known at
compile time (constants, or SHAPE of static tensors), and then folded to a constant by its own reference kernel
(tinyc/passes/fold_constants.py); it has no run-time kernel."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register


def run_broadcast_args(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    a, b = (step.consts[k] for k in ("a", "b"))
    shape = np.broadcast_shapes(tuple(int(v) for v in a), tuple(int(v) for v in b))
    return [np.asarray(shape, a.dtype)[np.newaxis]]


@register
class BroadcastArgs(OpDef):
    name = "broadcast_args"
    tflite = ("BROADCAST_ARGS",)
    arity = (2, 2)
    dtypes = frozenset({("int32", "int32"), ("int64", "int64")})
    kernels = {"broadcast_args": run_broadcast_args}

    def check(self, node: Node, graph: Graph) -> None:
        a, b, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        expect(a.dtype == b.dtype == y.dtype and len(a.shape) == len(b.shape) == 1, node,
               "needs two 1-D int32/int64 shapes of the output's dtype")
        if not (a.is_const and b.is_const):
            return  # SHAPE of a static tensor folds to a constant first; lower() refuses what is left
        try:
            shape = np.broadcast_shapes(tuple(int(v) for v in a.data), tuple(int(v) for v in b.data))
        except ValueError:
            shape = None
        expect(shape is not None and y.shape == (max(len(shape), 1),), node,
               f"shapes {a.data.tolist()} and {b.data.tolist()} do not broadcast to an output of {list(y.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        a, b = (graph.tensor(n) for n in node.inputs)
        expect(a.is_const and b.is_const and node.outputs[0] not in graph.outputs, node,
               "takes shapes known at compile time only (it is folded to a constant)")
        return Step("broadcast_args", node.name, [], list(node.outputs), {}, {"a": a.data, "b": b.data})
