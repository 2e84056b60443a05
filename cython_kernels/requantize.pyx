"""Requantization (TFLM's MultiplyByQuantizedMultiplier) on arrays; the kernels inline the same
functions from fixedpoint.pxd. Exposed for tests and for ops that requantize element-wise."""

from libc.stdint cimport int32_t

import numpy as np

from fixedpoint cimport multiply_by_quantized_multiplier as _mbqm
from fixedpoint cimport requantize_s8
from fixedpoint cimport rounding_divide_by_pot as _rdbp
from fixedpoint cimport srdhm as _srdhm


def saturating_rounding_doubling_high_mul(const int32_t[::1] a, const int32_t[::1] b):
    """Element-wise SaturatingRoundingDoublingHighMul of two equal-length int32 arrays."""
    if a.shape[0] != b.shape[0]:
        raise ValueError("arrays differ in length")
    out = np.empty(a.shape[0], np.int32)
    cdef int32_t[::1] o = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(a.shape[0]):
            o[i] = _srdhm(a[i], b[i])
    return out


def rounding_divide_by_pot(const int32_t[::1] x, const int32_t[::1] exponent):
    """Element-wise RoundingDivideByPOT; exponents in 0..31."""
    if x.shape[0] != exponent.shape[0]:
        raise ValueError("arrays differ in length")
    cdef Py_ssize_t i
    for i in range(exponent.shape[0]):
        if not 0 <= exponent[i] <= 31:
            raise ValueError(f"exponent {exponent[i]} outside 0..31")
    out = np.empty(x.shape[0], np.int32)
    cdef int32_t[::1] o = out
    with nogil:
        for i in range(x.shape[0]):
            o[i] = _rdbp(x[i], exponent[i])
    return out


def multiply_by_quantized_multiplier(const int32_t[::1] x, const int32_t[::1] multiplier,
                                     const int32_t[::1] shift):
    """Element-wise MultiplyByQuantizedMultiplier of equal-length int32 arrays; shifts in -31..31."""
    if not x.shape[0] == multiplier.shape[0] == shift.shape[0]:
        raise ValueError("arrays differ in length")
    cdef Py_ssize_t i
    for i in range(shift.shape[0]):
        if not -31 <= shift[i] <= 31:
            raise ValueError(f"shift {shift[i]} outside -31..31")
    out = np.empty(x.shape[0], np.int32)
    cdef int32_t[::1] o = out
    with nogil:
        for i in range(x.shape[0]):
            o[i] = _mbqm(x[i], multiplier[i], shift[i])
    return out


def requantize_channels(const int32_t[:, ::1] acc, const int32_t[::1] multiplier, const int32_t[::1] shift,
                        int out_zp, int act_min, int act_max):
    """int32 accumulators [rows, channels] -> int8: per-channel requantize, + out_zp, clamp."""
    cdef Py_ssize_t rows = acc.shape[0], ch = acc.shape[1], r, c
    if multiplier.shape[0] != ch or shift.shape[0] != ch:
        raise ValueError("one multiplier and shift per channel needed")
    out = np.empty((rows, ch), np.int8)
    cdef signed char[:, ::1] o = out
    with nogil:
        for r in range(rows):
            for c in range(ch):
                o[r, c] = requantize_s8(acc[r, c], multiplier[c], shift[c], out_zp, act_min, act_max)
    return out

