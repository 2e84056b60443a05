"""LOGICAL_AND, LOGICAL_OR (bool, the binary family) and LOGICAL_NOT, which is EQUAL to a constant false: the
binary family's step with one broadcast constant operand."""

from __future__ import annotations

import operator

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._binary import BinaryOp, run_binary

BOOL = frozenset({("bool", "bool")})


class LogicalOp(BinaryOp):
    out_dtype = "bool"
    fused_activation = False
    dtypes = BOOL
    combine = staticmethod(operator.and_)

    def predicate(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        return self.combine(a.astype(bool), b.astype(bool))


@register
class LogicalAnd(LogicalOp):
    name = "logical_and"
    tflite = ("LOGICAL_AND",)


@register
class LogicalOr(LogicalOp):
    name = "logical_or"
    tflite = ("LOGICAL_OR",)
    combine = staticmethod(operator.or_)


@register
class LogicalNot(OpDef):
    name = "logical_not"
    tflite = ("LOGICAL_NOT",)
    dtypes = BOOL
    kernels = {"binary": run_binary}

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        params = {"op": "equal", "dtype": "bool", "rank": 1, "dims": (x.size,), "a_strides": (1,),
                  "b_strides": (0,), "size": x.size}
        return Step("binary", node.name, [x.name], [y.name], params, {"b": np.zeros(1, np.bool_)})
