"""Reshape (and flatten, squeeze, unsqueeze): the same bytes under another shape; no code, no copy."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import ANY_SAME, OpDef, expect, register


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [inputs[0].reshape((inputs[0].shape[0],) + tuple(step.params["out_shape"]))]


@register
class Reshape(OpDef):
    name = "reshape"
    tflite = ("EXPAND_DIMS", "RESHAPE", "SQUEEZE")
    kernels = {"reshape": run}
    dtypes = ANY_SAME  # the same bytes under another shape, whatever their type

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.size == y.size, node, f"cannot reshape {list(x.shape)} to {list(y.shape)}")
        expect(x.dtype == y.dtype, node, "reshape cannot change the dtype")
        if x.quant is not None and y.quant is not None:
            expect(x.quant.s == y.quant.s and x.quant.zp == y.quant.zp, node, "reshape cannot requantize")

    def lower(self, node: Node, graph: Graph) -> Step:
        out_shape = graph.tensor(node.outputs[0]).shape
        return Step("reshape", node.name, [node.inputs[0]], [node.outputs[0]], {"out_shape": out_shape}, alias=True)
