"""DEQUANTIZE as TFLM's kernel (reference_ops::Dequantize): int8 / int16 / uint8 -> float32 as
`(float)scale * (float)(q - zero_point)`, one float32 multiplication per value (exact in the same order on
every core)."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import quant


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    centred = (inputs[0].astype(np.int32) - np.int32(p["zp"])).astype(np.float32)
    return [np.float32(p["scale"]) * centred]


@register
class Dequantize(OpDef):
    name = "dequantize"
    tflite = ("DEQUANTIZE",)
    kernels = {"dequantize": run}
    dtypes = frozenset({("int8", "float32"), ("int16", "float32"), ("uint8", "float32")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        expect(not quant(graph, x.name, node).per_channel, node, "per-channel dequantization is not supported")

    def lower(self, node: Node, graph: Graph) -> Step:
        x = graph.tensor(node.inputs[0])
        q = quant(graph, x.name, node)
        return Step("dequantize", node.name, [x.name], [node.outputs[0]], {"size": x.size, "scale": q.s, "zp": q.zp})
