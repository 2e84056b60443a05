"""LOGISTIC (sigmoid). int8 as TFLM's reference_integer_ops::Logistic: input rescaled to Q4.27, gemmlowp's
fixed-point logistic, output scale 1/256 and zero point -128; int16 as TFLM's 16-bit kernel (the interpolated
sigmoid table of tinyc/ops/_lut16.py; zero points 0, output scale 2**-15); float as TFLM's reference Logistic
(cutoffs at -9 and 16.619) with tinyc's expf."""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Node, Quant
from tinyc.numerics import calculate_input_radius, multiply_by_quantized_multiplier, round_half_away
from tinyc.numerics import rounding_divide_by_pot as rdbypot
from tinyc.ops import expect, register
from tinyc.ops._gemmlowp import logistic
from tinyc.ops._lut16 import logistic_s16
from tinyc.ops._mathf import logisticf
from tinyc.ops._unary import WITH_INT16, UnaryOp

INPUT_INTEGER_BITS = 4


def input_rescale(scale: float) -> tuple[int, int, int]:
    """TFLM's Prepare of int8 LOGISTIC and TANH: (multiplier, left shift, input radius) for a Q4.27 input."""
    q, shift = math.frexp(float(np.float32(scale)) * (1 << (31 - INPUT_INTEGER_BITS)))
    return round_half_away(q * (1 << 31)), shift, calculate_input_radius(INPUT_INTEGER_BITS, shift)


def checked_log2(scale: float) -> tuple[int, bool]:
    """TFLM's CheckedLog2 (in float32): log2 of the scale rounded, and whether the scale is a power of two."""
    log2 = np.float32(np.log(np.float32(scale), dtype=np.float32)) * (np.float32(1.0) / np.float32(np.log(2.0)))
    rounded = np.float32(np.sign(log2) * np.floor(np.abs(np.float64(log2)) + 0.5))
    return int(rounded), bool(abs(np.float32(log2 - rounded)) < np.float32(1e-3))


def params_s16(qi: Quant, qo: Quant, node: Node, pot_shifts: tuple[int, ...]) -> dict:
    """TFLM's Prepare of int16 LOGISTIC and TANH: the input rescaled to the table's 3 * 2**12 per unit by a shift
    alone where the scale is a power of two with a left shift in `pot_shifts`, else by an integer multiplier of
    at most 32767 and a rounding right shift; as the kernel takes them (multiplier 3 << shift, shift 0 for the
    power-of-two case)."""
    expect(qi.zp == 0 and qo.zp == 0, node, f"int16 input and output zero points must be 0 (TFLM), got "
                                            f"{qi.zp} and {qo.zp}")
    out_log2, out_pot = checked_log2(qo.s)
    expect(out_pot and out_log2 == -15, node, f"int16 output scale must be 2**-15 (TFLM), got {qo.s:g}")
    log2, pot = checked_log2(qi.s)
    shift = 15 - 3 + log2
    if pot and shift in pot_shifts:
        return {"multiplier": 3 << shift, "left_shift": 0}
    multiplier, shift = float(np.float32(qi.s)) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    expect(multiplier <= 32767, node, f"int16 input scale {qi.s:g} is too large for TFLM's 16-bit kernel")
    return {"multiplier": int(multiplier), "left_shift": shift}


def saturate_ends(x: np.ndarray, radius: int, out: np.ndarray) -> np.ndarray:
    return np.where(x <= -radius, -128, np.where(x >= radius, 127, out))


@register
class Logistic(UnaryOp):
    name = "logistic"
    tflite = ("LOGISTIC",)
    dtypes = WITH_INT16

    def check_quant(self, qi: Quant, qo: Quant, node: Node) -> None:
        expect(qo.zp == -128, node, f"int8 output zero point must be -128 (TFLM), got {qo.zp}")

    def table_s8(self, x: np.ndarray, qi: Quant, qo: Quant, node: Node) -> np.ndarray:
        mult, shift, radius = input_rescale(qi.s)
        d = x - qi.zp
        q4 = multiply_by_quantized_multiplier(np.clip(d, 1 - radius, radius - 1), mult, shift)
        return saturate_ends(d, radius, np.clip(rdbypot(logistic(q4, INPUT_INTEGER_BITS), 23) - 128, -128, 127))

    def params_s16(self, qi: Quant, qo: Quant, node: Node) -> dict:
        return params_s16(qi, qo, node, (0,))

    def s16(self, x: np.ndarray, params: dict) -> np.ndarray:
        return logistic_s16(x, params["multiplier"], params["left_shift"])

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return logisticf(x)
