"""gemmlowp's fixed-point logistic and tanh and TFLite's inverse square root, exactly, on int32 values held in
int64 NumPy arrays (the int8 LOGISTIC / TANH / RSQRT reference kernels, and for other ops that need them)."""

from __future__ import annotations

import numpy as np

from tinyc.numerics import (
    INT32_MAX,
    exp_on_negative_values,
    one_over_one_plus_x_for_x_in_0_1,
    rescale,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    saturating_shift_left,
    wrap_int32,
)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    srdhm = saturating_rounding_doubling_high_mul
    a = np.asarray(a, np.int64)
    s = a + INT32_MAX  # RoundingHalfSum(a, One) with C's truncating division
    half_denominator = np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2))
    x = wrap_int32(1515870810 + srdhm(half_denominator, -1010580540))
    one_q2 = 1 << 29
    for _ in range(3):
        one_minus = wrap_int32(one_q2 - srdhm(half_denominator, x))
        x = wrap_int32(x + rescale(srdhm(x, one_minus), 4, 2))
    return rescale(wrap_int32(x - one_q2), 2, 0)


def logistic(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp::logistic of a Q(integer_bits) value: Q0.31."""
    a = np.asarray(a, np.int64)
    positive = a > 0
    abs_a = np.where(positive, a, -a)
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-abs_a, integer_bits))
    out = np.where(positive, if_positive, INT32_MAX - if_positive)
    return np.where(a == 0, 1 << 30, out)


def tanh(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp::tanh of a Q(integer_bits) value: Q0.31."""
    a = np.asarray(a, np.int64)
    negative = a < 0
    n = np.where(negative, a, -a)
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))  # ExactMulByPot<1>
    return np.where(a == 0, 0, np.where(negative, -t, t))


def inv_sqrt_multiplier_exp(value: int, reverse_shift: int = -1) -> tuple[int, int]:
    """TFLite's GetInvSqrtQuantizedMultiplierExp for one int32 value: (multiplier, shift)."""
    srdhm = saturating_rounding_doubling_high_mul
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    max_left_shift_bits = (32 - value.bit_length()) - 1
    pairs = max_left_shift_bits // 2 - 1
    shift -= pairs
    value <<= 2 * pairs
    x_in = np.int64(value >> 1)
    half_input = rounding_divide_by_pot(x_in, 1)
    half_three = (1 << 28) + (1 << 27)
    x = np.int64(1 << 28)  # F3::One()
    for _ in range(5):
        x3 = saturating_shift_left(srdhm(srdhm(x, x), x), 6)  # Rescale<3> of an F9
        x = saturating_shift_left(wrap_int32(srdhm(half_three, x) - srdhm(half_input, x3)), 3)
    out = int(srdhm(x, 1518500250))
    if shift < 0:
        out = int(wrap_int32(np.int64(out) << -shift))
        shift = 0
    return out, shift * reverse_shift


def clz32(x: np.ndarray) -> np.ndarray:
    """CountLeadingZeros of int32 values read as uint32 (32 for 0)."""
    u = np.asarray(x, np.int64) & 0xFFFFFFFF
    return 32 - np.frexp(u.astype(np.float64))[1].astype(np.int64)  # the exponent is the bit length, exactly


def clrsb32(x: np.ndarray) -> np.ndarray:
    """CountLeadingSignBits of int32 values (31 for 0 and -1)."""
    x = np.asarray(x, np.int64)
    return clz32(np.where(x < 0, ~x, x)) - 1
