"""PRELU, x >= 0 ? x : x * alpha, alpha of any shape that broadcasts against x (a constant, or an activation).
int8 as TFLM's BroadcastPrelu4DSlow: two multipliers, sx / sy for x >= 0 and sx * salpha / sy for the product;
float32 plain (-0.0 passes as x, NaN gives NaN)."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node, Quant
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier
from tinyc.ops import expect, register
from tinyc.ops._binary import BinaryOp


@register
class Prelu(BinaryOp):
    name = "prelu"
    tflite = ("PRELU",)
    fused_activation = False

    def check(self, node: Node, graph: Graph) -> None:
        super().check(node, graph)
        expect(len(graph.tensor(node.outputs[0]).shape) <= 4, node, "PRELU takes at most 4 dimensions (TFLM)")

    def params_s8(self, qa: Quant, qb: Quant, qy: Quant) -> dict:
        m1, s1 = quantize_multiplier(qa.s / qy.s)
        m2, s2 = quantize_multiplier(qa.s * qb.s / qy.s)
        return {"m1": m1, "s1": s1, "m2": m2, "s2": s2}

    def s8(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        return np.where(a >= 0, mbqm(a, p["m1"], p["s1"]), mbqm(a * b, p["m2"], p["s2"]))

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(a >= 0, a, a * b)
