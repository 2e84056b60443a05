# TFLM's fixed-point requantization, as inline C shared by the kernels (cimport fixedpoint).
#
# Bit-identical to tinyc/numerics.py and the generated C (tinyc_fixedpoint.h.j2):
# MultiplyByQuantizedMultiplier with double rounding = SaturatingRoundingDoublingHighMul of
# x << left_shift (wrapping as int32), then RoundingDivideByPOT of the right shift. gemmlowp's
# sign-dependent roundings are written as equal single expressions, without data-dependent branches
# (accumulator signs are unpredictable); tests/test_kernels.py checks them against plain integers.

from libc.stdint cimport int32_t, int64_t, uint32_t

cdef enum:
    FP_INT32_MIN = -2147483648
    FP_INT32_MAX = 2147483647


cdef inline int32_t srdhm(int32_t a, int32_t b) noexcept nogil:
    """gemmlowp's SaturatingRoundingDoublingHighMul: (a * b + nudge) / 2**31 in C's truncating division,
    nudge = 2**30 for a non-negative product, 1 - 2**30 otherwise; INT32_MIN * INT32_MIN saturates.

    The two cases are one expression: floor((a * b + 2**30) / 2**31), an arithmetic shift (for a
    negative product p, -floor((2**30 - 1 - p) / 2**31) == floor((p + 2**30) / 2**31))."""
    cdef int32_t high = <int32_t>((<int64_t>a * <int64_t>b + (<int64_t>1 << 30)) >> 31)
    return FP_INT32_MAX if (a == FP_INT32_MIN) & (b == FP_INT32_MIN) else high


cdef inline int32_t rounding_divide_by_pot(int32_t x, int exponent) noexcept nogil:
    """gemmlowp's RoundingDivideByPOT: x / 2**exponent to nearest, ties away from zero (0 <= exponent <= 31).

    As gemmlowp: (x >> e) + (remainder > (mask >> 1) + (x < 0)), mask = 2**e - 1; written as one
    rounding add then a shift: x + 2**(e-1) for x >= 0, x + 2**(e-1) - 1 for x < 0 (e > 0)."""
    cdef int64_t half = (<int64_t>1 << exponent) >> 1
    cdef int64_t nudge = half - <int64_t>((x < 0) & (exponent > 0))
    return <int32_t>((<int64_t>x + nudge) >> exponent)


cdef inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) noexcept nogil:
    """TFLM's MultiplyByQuantizedMultiplier; x * 2**left_shift wraps as two's-complement int32."""
    cdef int left = shift if shift > 0 else 0
    cdef int right = 0 if shift > 0 else -shift
    cdef int32_t shifted = <int32_t>(<uint32_t>x << left)
    return rounding_divide_by_pot(srdhm(shifted, multiplier), right)


cdef inline signed char requantize_s8(int32_t acc, int32_t multiplier, int shift, int32_t out_zp,
                                      int32_t act_min, int32_t act_max) noexcept nogil:
    """int32 accumulator (bias included) -> int8 output: requantize, add the zero point, clamp."""
    cdef int64_t v = <int64_t>multiply_by_quantized_multiplier(acc, multiplier, shift) + out_zp
    v = act_min if v < act_min else v
    v = act_max if v > act_max else v
    return <signed char>v
