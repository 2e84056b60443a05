"""int8 fully connected (TFLM's FullyConnected): y[r, o] = requantize(sum_k x[r, k] * w[o, k] + bias[o]).

The input zero point is folded into the bias by the lowering. Rows and weights are widened to int16
and zero-padded to a multiple of 16 so that the dot products vectorise; each pass over an input row
serves four output units. Rows are independent: their loop is a prange, parallel only if the
extension is built with OpenMP (setup.py does not ask for it).
"""

from cython.parallel cimport parallel, prange
from libc.stdint cimport int8_t, int16_t, int32_t
from libc.stdlib cimport abort, free, malloc

import numpy as np

from dot cimport dot4_s16, dot_s16
from fixedpoint cimport requantize_s8

cdef enum:
    ALIGN = 16


cdef void fc_row(const int8_t[:, ::1] x, const int16_t[:, ::1] w, const int32_t[::1] bias,
                 const int32_t[::1] mult, const int32_t[::1] shift, int8_t[:, ::1] out, int16_t* row,
                 Py_ssize_t r, int32_t out_zp, int32_t act_min, int32_t act_max) noexcept nogil:
    cdef Py_ssize_t depth = x.shape[1], kp = w.shape[1], units = w.shape[0], k, o = 0
    cdef int32_t acc[4]
    cdef int j
    for k in range(depth):
        row[k] = x[r, k]
    for k in range(depth, kp):
        row[k] = 0
    while o + 4 <= units:
        dot4_s16(row, &w[o, 0], kp, acc)
        for j in range(4):
            out[r, o + j] = requantize_s8(acc[j] + bias[o + j], mult[o + j], shift[o + j],
                                          out_zp, act_min, act_max)
        o += 4
    while o < units:
        out[r, o] = requantize_s8(dot_s16(row, &w[o, 0], kp) + bias[o], mult[o], shift[o],
                                  out_zp, act_min, act_max)
        o += 1


def fully_connected_s8(const int8_t[:, ::1] x, const int8_t[:, ::1] weights, const int32_t[::1] bias,
                       const int32_t[::1] mult, const int32_t[::1] shift, int out_zp, int act_min,
                       int act_max):
    """x int8[R, K], weights int8[U, K], bias/mult/shift int32[U] -> int8[R, U].

    bias already holds -in_zp * sum(weights of the unit).
    """
    cdef Py_ssize_t rows = x.shape[0], depth = x.shape[1], units = weights.shape[0]
    if weights.shape[1] != depth:
        raise ValueError(f"weights are {units}x{weights.shape[1]}, input rows have {depth} values")
    if bias.shape[0] != units or mult.shape[0] != units or shift.shape[0] != units:
        raise ValueError("bias, mult and shift need one entry per output unit")
    cdef Py_ssize_t kp = (depth + ALIGN - 1) // ALIGN * ALIGN
    w16 = np.zeros((units, kp), np.int16)
    w16[:, :depth] = weights
    cdef const int16_t[:, ::1] w = w16
    result = np.empty((rows, units), np.int8)
    cdef int8_t[:, ::1] out = result
    cdef Py_ssize_t r
    cdef int16_t* row
    with nogil, parallel():
        row = <int16_t*>malloc((kp + ALIGN) * sizeof(int16_t))
        if row == NULL:
            abort()
        for r in prange(rows, schedule="static"):
            fc_row(x, w, bias, mult, shift, out, row, r, out_zp, act_min, act_max)
        free(row)
    return result
