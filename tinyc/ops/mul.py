"""MUL, a * b with fused activation. int8 as TFLM's Mul: one multiplier sa * sb / sy (above or below 1) on the
product of the offset inputs; float and int32 plain (int32 wraps)."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Quant
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier
from tinyc.ops import register
from tinyc.ops._binary import WITH_INT32, BinaryOp


@register
class Mul(BinaryOp):
    name = "mul"
    tflite = ("MUL",)
    dtypes = WITH_INT32 | {("int16", "int16")}  # int16 as TFLM's: zero points 0, the int8 arithmetic

    def params_s8(self, qa: Quant, qb: Quant, qy: Quant) -> dict:
        mo, so = quantize_multiplier(qa.s * qb.s / qy.s)
        return {"mo": mo, "so": so}

    def s8(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        return mbqm(a * b, p["mo"], p["so"])

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b

    def i32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a * b) & 0xFFFFFFFF
