"""SQUARED_DIFFERENCE, (a - b)**2. int8 as TFLM's: inputs rescaled at 2**7, the difference squared, then one
multiplier (above or below 1); float and int32 plain (int32 wraps)."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Quant
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier, quantize_multiplier_smaller_than_one
from tinyc.ops import register
from tinyc.ops._binary import WITH_INT32, BinaryOp
from tinyc.ops.sub import rescaled

F = np.float32
LEFT_SHIFT = 7


@register
class SquaredDifference(BinaryOp):
    name = "squared_difference"
    tflite = ("SQUARED_DIFFERENCE",)
    dtypes = WITH_INT32
    fused_activation = False

    def params_s8(self, qa: Quant, qb: Quant, qy: Quant) -> dict:
        twice = 2.0 * max(qa.s, qb.s)
        m1, s1 = quantize_multiplier_smaller_than_one(qa.s / twice)
        m2, s2 = quantize_multiplier_smaller_than_one(qb.s / twice)
        mo, so = quantize_multiplier(twice * twice / float(F(1 << (2 * LEFT_SHIFT)) * F(qy.s)))
        return {"left_shift": LEFT_SHIFT, "m1": m1, "s1": s1, "m2": m2, "s2": s2, "mo": mo, "so": so}

    def s8(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        d = rescaled(a, p, 1) - rescaled(b, p, 2)
        return mbqm(d * d, p["mo"], p["so"])

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = a - b
        return d * d

    def i32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = ((a - b + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)  # wrapped to int32, as the C
        return (d * d) & 0xFFFFFFFF
