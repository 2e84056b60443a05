"""TANH. int8 as TFLM's reference_integer_ops::Tanh: input rescaled to Q4.27, gemmlowp's fixed-point tanh,
output in Q0.7 (scale 1/128, zero point 0 implied); int16 as TFLM's 16-bit kernel (tinyc/ops/_lut16.py); float with
tinyc's tanhf (TFLM calls std::tanh)."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Node, Quant
from tinyc.numerics import multiply_by_quantized_multiplier
from tinyc.numerics import rounding_divide_by_pot as rdbypot
from tinyc.ops import register
from tinyc.ops._gemmlowp import tanh
from tinyc.ops._lut16 import tanh_s16
from tinyc.ops._mathf import tanhf
from tinyc.ops._unary import WITH_INT16, UnaryOp
from tinyc.ops.logistic import INPUT_INTEGER_BITS, input_rescale, params_s16, saturate_ends


@register
class Tanh(UnaryOp):
    name = "tanh"
    tflite = ("TANH",)
    dtypes = WITH_INT16

    def table_s8(self, x: np.ndarray, qi: Quant, qo: Quant, node: Node) -> np.ndarray:
        mult, shift, radius = input_rescale(qi.s)
        d = x - qi.zp
        q4 = multiply_by_quantized_multiplier(np.clip(d, 1 - radius, radius - 1), mult, shift)
        return saturate_ends(d, radius, np.clip(rdbypot(tanh(q4, INPUT_INTEGER_BITS), 24), -128, 127))

    def params_s16(self, qi: Quant, qo: Quant, node: Node) -> dict:
        return params_s16(qi, qo, node, (0, 1))

    def s16(self, x: np.ndarray, params: dict) -> np.ndarray:
        return tanh_s16(x, params["multiplier"], params["left_shift"])

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return tanhf(x)
