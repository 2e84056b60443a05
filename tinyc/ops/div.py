"""DIV, a / b with fused activation: float32 (IEEE division, TFLM's bytes), int32 (C's truncating division;
TFLM faults on a zero divisor, tinyc gives 0 there and INT32_MIN for INT32_MIN / -1) and int8.

int8 is TFLM's DivElementwise: the multiplier of sa / (sb * sy) (in double, as TFLM's Prepare), the divisor's
fixed-point reciprocal (GetReciprocal), the dividend normalised by its leading sign bits, then one rounding
divide by a power of two whose exponent is 31 - clz(b) + clrsb(a) - shift. That exponent is above 31 for
ordinary operands (a small dividend over a large divisor, e.g. 1 / 4 with a multiplier below 1) and below 0 for
multipliers above 2**22: C++ undefined behaviour, which the x86 build of TFLM (tinyc's reference) resolves by
x86's shift counts, mod 64 for the 64-bit mask and mod 32 for the 32-bit shift. tinyc computes exactly that
(measured: every one of the 65,536 operand pairs byte-equal to TFLM for 110 quantizations with shifts -31..36
and every fused activation, zero divisors included), so where the exponent leaves 0..31 the result is TFLM's
x86 bytes, not the quotient (often 127 or -128 where it should be near 0); TFLM on an ARM core, whose shifts
saturate, would give other bytes there. A zero divisor takes the same steps (its reciprocal of 0 with the bits
over unit -1), as in TFLM, which does not stop on it in a release build.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Quant
from tinyc.numerics import one_over_one_plus_x_for_x_in_0_1, quantize_multiplier, wrap_int32
from tinyc.numerics import saturating_rounding_doubling_high_mul as srdhm
from tinyc.ops import register
from tinyc.ops._binary import WITH_INT32, BinaryOp
from tinyc.ops._gemmlowp import clrsb32, clz32


def rounding_divide_by_pot_x86(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT for any exponent, as x86 runs it: the int64 mask (1 << e) - 1 with the
    count mod 64, truncated to int32, and the int32 shift with the count mod 32."""
    x, e = np.asarray(x, np.int64), np.asarray(exponent, np.int64)
    mask = wrap_int32((np.int64(1) << (e & 63)) - 1)
    threshold = (mask >> 1) + (x < 0)
    return (x >> (e & 31)) + ((x & mask) > threshold)


@register
class Div(BinaryOp):
    name = "div"
    tflite = ("DIV",)
    dtypes = WITH_INT32

    def params_s8(self, qa: Quant, qb: Quant, qy: Quant) -> dict:
        sa, sb, sy = (float(np.float32(t.s)) for t in (qa, qb, qy))
        mo, so = quantize_multiplier(sa / (sb * sy))
        return {"mo": mo, "so": so}

    def s8(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        x1, x2 = np.where(b < 0, -a, a), np.abs(b)
        headroom_plus_one = clz32(x2)
        inv = one_over_one_plus_x_for_x_in_0_1(wrap_int32(((x2 << (headroom_plus_one & 31)) & 0xFFFFFFFF) - 2**31))
        headroom = clrsb32(x1)
        q = srdhm(srdhm(wrap_int32(x1 << headroom), inv), p["mo"])
        return rounding_divide_by_pot_x86(q, (31 - headroom_plus_one) + headroom - p["so"])

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a / b

    def i32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        q = np.abs(a) // np.where(b == 0, 1, np.abs(b))
        return np.where(b == 0, 0, np.where((a < 0) != (b < 0), -q, q))
