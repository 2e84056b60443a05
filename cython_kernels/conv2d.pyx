"""int8 2-D convolution (TFLM's ConvPerChannel): NHWC input, OHWI weights, per-channel requantization.

The input zero point is folded into the bias by the lowering and borders are padded with it, so
each output is a plain int8 dot product over an im2col row. Rows and weights are widened to int16
(zero-padded to a multiple of 16) so that the dot products vectorise (pmaddwd and the like); each
pass over an im2col row serves four output channels.

Output rows are independent: their loop is a prange, parallel only if the extension is built with
OpenMP (setup.py does not ask for it; without it the loop is a plain serial loop).
"""

from cython.parallel cimport parallel, prange
from libc.stdint cimport int8_t, int16_t, int32_t
from libc.stdlib cimport abort, free, malloc

import numpy as np

from dot cimport dot4_s16, dot_s16
from fixedpoint cimport requantize_s8

cdef enum:
    ALIGN = 16  # im2col and weight rows are zero-padded to a multiple of this many values


cdef void conv_row(const int8_t[:, :, :, ::1] x, const int16_t[:, ::1] w, const int32_t[::1] bias,
                   const int32_t[::1] mult, const int32_t[::1] shift, int8_t[:, :, :, ::1] out,
                   int16_t* row, Py_ssize_t n, Py_ssize_t oh, int kh_, int kw_,
                   int stride_h, int stride_w, int dil_h, int dil_w, int pad_top, int pad_left,
                   int16_t in_zp, int32_t out_zp, int32_t act_min, int32_t act_max) noexcept nogil:
    """One output row (n, oh, :, :)."""
    cdef Py_ssize_t in_h = x.shape[1], in_w = x.shape[2], in_c = x.shape[3]
    cdef Py_ssize_t out_w = out.shape[2], out_c = out.shape[3], kp = w.shape[1]
    cdef Py_ssize_t ow, kh, kw, ic, oc, ih, iw, k, kfull = kh_ * kw_ * in_c
    cdef const int8_t* src
    cdef int32_t acc[4]
    cdef int j
    for k in range(kfull, kp):
        row[k] = 0
    for ow in range(out_w):
        k = 0
        for kh in range(kh_):
            ih = oh * stride_h - pad_top + kh * dil_h
            for kw in range(kw_):
                iw = ow * stride_w - pad_left + kw * dil_w
                if 0 <= ih < in_h and 0 <= iw < in_w:
                    src = &x[n, ih, iw, 0]
                    for ic in range(in_c):
                        row[k + ic] = src[ic]
                else:
                    for ic in range(in_c):
                        row[k + ic] = in_zp
                k += in_c
        oc = 0
        while oc + 4 <= out_c:
            dot4_s16(row, &w[oc, 0], kp, acc)
            for j in range(4):
                out[n, oh, ow, oc + j] = requantize_s8(acc[j] + bias[oc + j], mult[oc + j], shift[oc + j],
                                                       out_zp, act_min, act_max)
            oc += 4
        while oc < out_c:
            out[n, oh, ow, oc] = requantize_s8(dot_s16(row, &w[oc, 0], kp) + bias[oc], mult[oc], shift[oc],
                                               out_zp, act_min, act_max)
            oc += 1


def conv2d_s8(const int8_t[:, :, :, ::1] x, const int8_t[:, :, :, ::1] weights, const int32_t[::1] bias,
              const int32_t[::1] mult, const int32_t[::1] shift, int stride_h, int stride_w,
              int dil_h, int dil_w, int pad_top, int pad_left, int pad_bottom, int pad_right,
              int in_zp, int out_zp, int act_min, int act_max):
    """x int8[N,H,W,Cin], weights int8[Cout,KH,KW,Cin], bias/mult/shift int32[Cout] -> int8[N,OH,OW,Cout].

    bias already holds -in_zp * sum(weights); padded borders read in_zp.
    """
    cdef Py_ssize_t n_batch = x.shape[0], in_h = x.shape[1], in_w = x.shape[2], in_c = x.shape[3]
    cdef Py_ssize_t out_c = weights.shape[0], k_h = weights.shape[1], k_w = weights.shape[2]
    if weights.shape[3] != in_c:
        raise ValueError(f"weights have {weights.shape[3]} input channels, input has {in_c}")
    if bias.shape[0] != out_c or mult.shape[0] != out_c or shift.shape[0] != out_c:
        raise ValueError("bias, mult and shift need one entry per output channel")
    if min(stride_h, stride_w, dil_h, dil_w) < 1 or min(pad_top, pad_left, pad_bottom, pad_right) < 0:
        raise ValueError("strides and dilations must be >= 1, pads >= 0")
    cdef Py_ssize_t out_h = (in_h + pad_top + pad_bottom - ((k_h - 1) * dil_h + 1)) // stride_h + 1
    cdef Py_ssize_t out_w = (in_w + pad_left + pad_right - ((k_w - 1) * dil_w + 1)) // stride_w + 1
    if out_h < 1 or out_w < 1:
        raise ValueError("the window does not fit the padded input")
    cdef Py_ssize_t kfull = k_h * k_w * in_c
    cdef Py_ssize_t kp = (kfull + ALIGN - 1) // ALIGN * ALIGN
    w16 = np.zeros((out_c, kp), np.int16)
    w16[:, :kfull] = np.asarray(weights).reshape(out_c, kfull)
    cdef const int16_t[:, ::1] w = w16
    result = np.empty((n_batch, out_h, out_w, out_c), np.int8)
    cdef int8_t[:, :, :, ::1] out = result
    cdef Py_ssize_t job, n_jobs = n_batch * out_h
    cdef int16_t* row
    with nogil, parallel():
        row = <int16_t*>malloc((kp + ALIGN) * sizeof(int16_t))
        if row == NULL:
            abort()
        for job in prange(n_jobs, schedule="static"):
            conv_row(x, w, bias, mult, shift, out, row, job // out_h, job % out_h, <int>k_h, <int>k_w,
                     stride_h, stride_w, dil_h, dil_w, pad_top, pad_left, <int16_t>in_zp, out_zp,
                     act_min, act_max)
        free(row)
    return result
