"""int8 element-wise addition (TFLM's Add): each operand is offset by its zero point, shifted left by
left_shift (20), rescaled to a common scale, summed, requantized to the output, clamped.

Each operand's rescaled value depends only on its int8 value, so it is tabulated once per call
(256 entries each); the per-element work is one table lookup per operand and one requantization.
"""

from libc.stdint cimport int8_t, int32_t, uint32_t

import numpy as np

from fixedpoint cimport multiply_by_quantized_multiplier, requantize_s8


cdef void rescale_table(int32_t* table, int zp, int32_t mult, int shift, int left_shift) noexcept nogil:
    cdef int v
    for v in range(-128, 128):
        table[v + 128] = multiply_by_quantized_multiplier(<int32_t>(<uint32_t>(v - zp) << left_shift),
                                                          mult, shift)


def add_s8(const int8_t[::1] a, const int8_t[::1] b, int a_zp, int b_zp, int a_mult, int a_shift,
           int b_mult, int b_shift, int out_mult, int out_shift, int out_zp, int act_min, int act_max,
           int left_shift=20):
    """a int8[M] + b int8[P] -> int8[M], P dividing M: b repeats every P elements (P == M for two
    activations; P = one sample's size for a constant operand broadcast over the batch)."""
    cdef Py_ssize_t m = a.shape[0], p = b.shape[0], rep, k, base
    if p == 0 and m == 0:
        return np.empty(0, np.int8)
    if p == 0 or m % p != 0:
        raise ValueError(f"operand of {p} values does not tile {m}")
    if not 0 <= left_shift <= 30:
        raise ValueError(f"left_shift {left_shift} outside 0..30")
    result = np.empty(m, np.int8)
    cdef int8_t[::1] out = result
    cdef int32_t ta[256]
    cdef int32_t tb[256]
    with nogil:
        rescale_table(ta, a_zp, a_mult, a_shift, left_shift)
        rescale_table(tb, b_zp, b_mult, b_shift, left_shift)
        for rep in range(m // p):
            base = rep * p
            for k in range(p):
                out[base + k] = requantize_s8(ta[a[base + k] + 128] + tb[b[k] + 128], out_mult, out_shift,
                                              out_zp, act_min, act_max)
    return result
