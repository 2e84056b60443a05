"""ABS. int8 as TFLM's AbsEvalQuantized (|x - zp|, rescaled only when the scales differ); float clears the
sign bit, as fabs."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Node, Quant
from tinyc.numerics import multiply_by_quantized_multiplier, quantize_multiplier
from tinyc.ops import register
from tinyc.ops._unary import UnaryOp


@register
class Abs(UnaryOp):
    name = "abs"
    tflite = ("ABS",)

    def table_s8(self, x: np.ndarray, qi: Quant, qo: Quant, node: Node) -> np.ndarray:
        v = np.abs(x - qi.zp)
        if qi.s != qo.s:
            v = multiply_by_quantized_multiplier(v, *quantize_multiplier(qi.s / qo.s))
        return np.clip(v + qo.zp, -128, 127)

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return np.abs(x)
