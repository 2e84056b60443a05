"""SUB, a - b with fused activation. int8 as TFLM's Sub: both inputs rescaled at 2**20 (the multipliers in double
precision, as the TFLM release tinyc tests against computes them), subtracted, requantized; int16 (zero points 0)
the same arithmetic with TFLM's left shift 15; float and int32 plain."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node, Quant
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier_smaller_than_one
from tinyc.ops import expect, register
from tinyc.ops._binary import WITH_INT32, BinaryOp
from tinyc.ops._common import quant

LEFT_SHIFT = 20
LEFT_SHIFT_S16 = 15


def rescaled(x: np.ndarray, p: dict, k: int) -> np.ndarray:
    return mbqm(x * (1 << p["left_shift"]), p[f"m{k}"], p[f"s{k}"])


@register
class Sub(BinaryOp):
    name = "sub"
    tflite = ("SUB",)
    dtypes = WITH_INT32 | {("int16", "int16")}

    def params_s8(self, qa: Quant, qb: Quant, qy: Quant, left_shift: int = LEFT_SHIFT) -> dict:
        twice = 2.0 * max(qa.s, qb.s)
        m1, s1 = quantize_multiplier_smaller_than_one(qa.s / twice)
        m2, s2 = quantize_multiplier_smaller_than_one(qb.s / twice)
        mo, so = quantize_multiplier_smaller_than_one(twice / ((1 << left_shift) * qy.s))
        return {"left_shift": left_shift, "m1": m1, "s1": s1, "m2": m2, "s2": s2, "mo": mo, "so": so}

    def params_s16(self, qa: Quant, qb: Quant, qy: Quant) -> dict:
        return self.params_s8(qa, qb, qy, LEFT_SHIFT_S16)

    def check(self, node: Node, graph: Graph) -> None:
        super().check(node, graph)
        y = graph.tensor(node.outputs[0])
        if y.dtype in ("int8", "int16"):
            qa, qb, qy = (quant(graph, n, node) for n in (*node.inputs[:2], y.name))
            shift = LEFT_SHIFT if y.dtype == "int8" else LEFT_SHIFT_S16
            real = 2.0 * max(qa.s, qb.s) / ((1 << shift) * qy.s)
            expect(real < 1.0, node, f"output multiplier {real:g} is not below 1 (the input scales are too large "
                                     "for the output scale, as TFLM's Sub requires)")

    def s8(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        return mbqm(rescaled(a, p, 1) - rescaled(b, p, 2), p["mo"], p["so"])

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    def i32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b
