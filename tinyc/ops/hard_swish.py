"""HARD_SWISH, x * relu6(x + 3) / 6. int8 as TFLM's reference HardSwish: int16 fixed point with a "reluish"
multiplier in [0, 1]; float as TFLM's reference, operation for operation."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Node, Quant
from tinyc.numerics import quantize_multiplier, rounding_divide_by_pot
from tinyc.ops import expect, register
from tinyc.ops._unary import UnaryOp

F = np.float32


def downscale_to_int16(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    return 32767 if m >= (1 << 31) - 1 - (1 << 15) else (m + (1 << 15)) >> 16


def srdhm16(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int16 (C's truncating division)."""
    ab = np.asarray(a, np.int64) * b
    num = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    high = np.where(num >= 0, num >> 15, -((-num) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, high)


def sdhm16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SaturatingDoublingHighMul (rounds toward zero)."""
    ab = np.asarray(a, np.int64) * b
    high = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, high)


def sat_shl16(x: np.ndarray, amount: int) -> np.ndarray:
    return np.clip(np.asarray(x, np.int64) * (1 << amount), -32768, 32767)


def hard_swish_params(s_in: float, s_out: float) -> tuple[int, int, int, int]:
    """TFLM's HardSwishPrepare, in float32 as it is written: (output mult16, exponent, reluish mult16, exponent)."""
    hires = F(1.0 / 128.0) * F(s_in)
    out_m, out_e = quantize_multiplier(float(hires / F(s_out)))
    relu_m, relu_e = quantize_multiplier(float(hires / (F(3.0) / F(32768.0))))
    return downscale_to_int16(out_m), out_e, downscale_to_int16(relu_m), relu_e


@register
class HardSwish(UnaryOp):
    name = "hard_swish"
    tflite = ("HARD_SWISH",)

    def check_quant(self, qi: Quant, qo: Quant, node: Node) -> None:
        expect(hard_swish_params(qi.s, qo.s)[1] <= 0, node,
               "input scale / (128 * output scale) must be below 1 (TFLM refuses a left-shifting output)")

    def table_s8(self, x: np.ndarray, qi: Quant, qo: Quant, node: Node) -> np.ndarray:
        out_m, out_e, relu_m, relu_e = hard_swish_params(qi.s, qo.s)
        hires = (x - qi.zp) * 128
        preshift = srdhm16(hires, out_m)
        reluish = sat_shl16(hires, relu_e - 1) if relu_e > 0 else hires
        reluish = srdhm16(reluish, relu_m)
        if relu_e > 0:
            reluish = sat_shl16(reluish, 1)
        if relu_e < 0:
            reluish = rounding_divide_by_pot(reluish, -relu_e)
        reluish = (reluish + (1 << 15)) >> 1
        out = rounding_divide_by_pot(sdhm16(reluish, preshift), -out_e) + qo.zp
        return np.clip(out, -128, 127)

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        t = x + F(3.0)
        t = np.where(F(0.0) < t, t, F(0.0))
        t = np.where(t < F(6.0), t, F(6.0))
        return (x * t) / F(6.0)
