"""LOGISTIC (sigmoid). int8 as TFLM's reference_integer_ops::Logistic: input rescaled to Q4.27, gemmlowp's
fixed-point logistic, output scale 1/256 and zero point -128; float as TFLM's reference Logistic
(cutoffs at -9 and 16.619) with tinyc's expf."""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Node, Quant
from tinyc.numerics import calculate_input_radius, multiply_by_quantized_multiplier, round_half_away
from tinyc.numerics import rounding_divide_by_pot as rdbypot
from tinyc.ops import expect, register
from tinyc.ops._gemmlowp import logistic
from tinyc.ops._mathf import logisticf
from tinyc.ops._unary import UnaryOp

INPUT_INTEGER_BITS = 4


def input_rescale(scale: float) -> tuple[int, int, int]:
    """TFLM's Prepare of int8 LOGISTIC and TANH: (multiplier, left shift, input radius) for a Q4.27 input."""
    q, shift = math.frexp(float(np.float32(scale)) * (1 << (31 - INPUT_INTEGER_BITS)))
    return round_half_away(q * (1 << 31)), shift, calculate_input_radius(INPUT_INTEGER_BITS, shift)


def saturate_ends(x: np.ndarray, radius: int, out: np.ndarray) -> np.ndarray:
    return np.where(x <= -radius, -128, np.where(x >= radius, 127, out))


@register
class Logistic(UnaryOp):
    name = "logistic"

    def check_quant(self, qi: Quant, qo: Quant, node: Node) -> None:
        expect(qo.zp == -128, node, f"int8 output zero point must be -128 (TFLM), got {qo.zp}")

    def table_s8(self, x: np.ndarray, qi: Quant, qo: Quant, node: Node) -> np.ndarray:
        mult, shift, radius = input_rescale(qi.s)
        d = x - qi.zp
        q4 = multiply_by_quantized_multiplier(np.clip(d, 1 - radius, radius - 1), mult, shift)
        return saturate_ends(d, radius, np.clip(rdbypot(logistic(q4, INPUT_INTEGER_BITS), 23) - 128, -128, 127))

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return logisticf(x)
