"""Transpose of an activation by a fixed permutation (e.g. NHWC -> NCHW before an ONNX flatten)."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    perm = step.params["perm"]
    return [np.ascontiguousarray(inputs[0].transpose((0,) + tuple(p + 1 for p in perm)))]


@register
class Transpose(OpDef):
    name = "transpose"
    tflite = ("TRANSPOSE",)
    kernels = {"transpose": run}

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        perm = tuple(node.attrs.get("perm", ()))
        expect(sorted(perm) == list(range(len(x.shape))), node, f"perm {list(perm)} is not a permutation")
        expect(y.shape == tuple(x.shape[p] for p in perm), node, f"output shape {list(y.shape)} is wrong")
        expect(x.dtype == y.dtype, node, "transpose cannot change the dtype")
        if x.quant is not None and y.quant is not None:
            expect(x.quant.s == y.quant.s and x.quant.zp == y.quant.zp, node, "transpose cannot requantize")

    def lower(self, node: Node, graph: Graph) -> Step:
        x = graph.tensor(node.inputs[0])
        return Step("transpose", node.name, [x.name], [node.outputs[0]],
                    {"perm": tuple(node.attrs["perm"]), "in_shape": x.shape})
