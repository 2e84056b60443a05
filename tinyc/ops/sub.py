"""SUB, a - b with fused activation. int8 as TFLM's Sub: both inputs rescaled at 2**20 (the multipliers in double
precision, as the TFLM release tinyc tests against computes them), subtracted, requantized; float and int32
plain."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Quant
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier_smaller_than_one
from tinyc.ops import register
from tinyc.ops._binary import WITH_INT32, BinaryOp

LEFT_SHIFT = 20


def rescaled(x: np.ndarray, p: dict, k: int) -> np.ndarray:
    return mbqm(x * (1 << p["left_shift"]), p[f"m{k}"], p[f"s{k}"])


@register
class Sub(BinaryOp):
    name = "sub"
    dtypes = WITH_INT32

    def params_s8(self, qa: Quant, qb: Quant, qy: Quant) -> dict:
        twice = 2.0 * max(qa.s, qb.s)
        m1, s1 = quantize_multiplier_smaller_than_one(qa.s / twice)
        m2, s2 = quantize_multiplier_smaller_than_one(qb.s / twice)
        mo, so = quantize_multiplier_smaller_than_one(twice / ((1 << LEFT_SHIFT) * qy.s))
        return {"left_shift": LEFT_SHIFT, "m1": m1, "s1": s1, "m2": m2, "s2": s2, "mo": mo, "so": so}

    def s8(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        return mbqm(rescaled(a, p, 1) - rescaled(b, p, 2), p["mo"], p["so"])

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    def i32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b
