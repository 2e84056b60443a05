"""RSQRT, 1 / sqrt(x). int8 as TFLM's RsqrtEvalQuantized (GetInvSqrtQuantizedMultiplierExp per value, then
the output rescale; x at the zero point gives 127). TFLM stops with an error on an input below the zero
point; the table holds the same formula's value there. float: 1 / sqrt, both correctly rounded."""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Node, Quant
from tinyc.numerics import multiply_by_quantized_multiplier, quantize_multiplier
from tinyc.ops import register
from tinyc.ops._gemmlowp import inv_sqrt_multiplier_exp
from tinyc.ops._mathf import sqrtf
from tinyc.ops._unary import UnaryOp

SHIFT = 20


@register
class Rsqrt(UnaryOp):
    name = "rsqrt"
    tflite = ("RSQRT",)

    def table_s8(self, x: np.ndarray, qi: Quant, qo: Quant, node: Node) -> np.ndarray:
        mult, shift = quantize_multiplier(1.0 / (math.sqrt(qi.s) * qo.s))
        out = []
        for v in (x - qi.zp).tolist():
            if v == 0:
                out.append(127)
                continue
            inv_m, inv_s = inv_sqrt_multiplier_exp(v)
            data = multiply_by_quantized_multiplier(1, inv_m, inv_s + SHIFT)
            out.append(int(multiply_by_quantized_multiplier(data, mult, shift - SHIFT)) + qo.zp)
        return np.clip(np.array(out, np.int64), -128, 127)

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.float32(1.0) / sqrtf(x)
