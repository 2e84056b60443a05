"""int8 depthwise 2-D convolution (TFLM's DepthwiseConvPerChannel), NHWC, per-channel requantization.

Weights are [KH, KW, Cout] with Cout = Cin * depth_multiplier; output channel c reads input channel
c // depth_multiplier. The input zero point is folded into the bias by the lowering and padded borders
read it. Per image, the input is widened to int16 once, into a buffer padded with the zero point and
with each channel repeated depth_multiplier times; then for each output row and kernel tap, the
int32 accumulators of the whole row get x * w added, channel loop innermost (it vectorises).

Images are independent: their loop is a prange, parallel only if the extension is built with OpenMP
(setup.py does not ask for it; without it the loop is a plain serial loop).
"""

from cython.parallel cimport parallel, prange
from libc.stdint cimport int8_t, int16_t, int32_t
from libc.stdlib cimport abort, free, malloc

import numpy as np

from fixedpoint cimport requantize_s8


cdef struct Geometry:
    Py_ssize_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, pad_h, pad_w
    int depth_mult, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left
    int16_t in_zp
    int32_t out_zp, act_min, act_max


cdef void pad_image(const int8_t[:, :, :, ::1] x, Py_ssize_t n, int16_t* xp,
                    const Geometry* g) noexcept nogil:
    """x[n] -> xp[pad_h][pad_w][out_c] int16: channels repeated depth_mult times, border = in_zp."""
    cdef Py_ssize_t i, j, c, m, ih, iw, c_n = g.out_c
    cdef int16_t* dst
    cdef const int8_t* src
    for i in range(g.pad_h):
        ih = i - g.pad_top
        for j in range(g.pad_w):
            iw = j - g.pad_left
            dst = xp + (i * g.pad_w + j) * c_n
            if 0 <= ih < g.in_h and 0 <= iw < g.in_w:
                src = &x[n, ih, iw, 0]
                if g.depth_mult == 1:
                    for c in range(c_n):
                        dst[c] = src[c]
                else:
                    for c in range(g.in_c):
                        for m in range(g.depth_mult):
                            dst[c * g.depth_mult + m] = src[c]
            else:
                for c in range(c_n):
                    dst[c] = g.in_zp


cdef void depthwise_image(const int8_t[:, :, :, ::1] x, const int16_t[:, ::1] w, const int32_t[::1] bias,
                          const int32_t[::1] mult, const int32_t[::1] shift, int8_t[:, :, :, ::1] out,
                          Py_ssize_t n, int16_t* xp, int32_t* acc, const Geometry* g) noexcept nogil:
    """Output image n; acc holds one output row of accumulators [out_w][out_c]."""
    cdef Py_ssize_t oh, ow, kh, kw, c, c_n = g.out_c
    cdef const int16_t* src
    cdef const int16_t* wt
    cdef int32_t* a
    cdef int8_t* dst
    pad_image(x, n, xp, g)
    for oh in range(g.out_h):
        for ow in range(g.out_w):
            a = acc + ow * c_n
            for c in range(c_n):
                a[c] = bias[c]
        for kh in range(g.k_h):
            for kw in range(g.k_w):
                wt = &w[kh * g.k_w + kw, 0]
                for ow in range(g.out_w):
                    a = acc + ow * c_n
                    src = xp + ((oh * g.stride_h + kh * g.dil_h) * g.pad_w
                                + ow * g.stride_w + kw * g.dil_w) * c_n
                    for c in range(c_n):
                        a[c] += src[c] * wt[c]
        dst = &out[n, oh, 0, 0]
        for ow in range(g.out_w):
            a = acc + ow * c_n
            for c in range(c_n):
                dst[ow * c_n + c] = requantize_s8(a[c], mult[c], shift[c], g.out_zp, g.act_min, g.act_max)


def depthwise_conv2d_s8(const int8_t[:, :, :, ::1] x, const int8_t[:, :, ::1] weights,
                        const int32_t[::1] bias, const int32_t[::1] mult, const int32_t[::1] shift,
                        int depth_multiplier, int stride_h, int stride_w, int dil_h, int dil_w,
                        int pad_top, int pad_left, int pad_bottom, int pad_right, int in_zp, int out_zp,
                        int act_min, int act_max):
    """x int8[N,H,W,Cin], weights int8[KH,KW,Cin*depth_multiplier], bias/mult/shift int32[Cout]
    -> int8[N,OH,OW,Cout]. bias already holds -in_zp * sum(weights); padded borders read in_zp.
    """
    cdef Geometry g
    cdef Py_ssize_t n_batch = x.shape[0]
    g.in_h, g.in_w, g.in_c = x.shape[1], x.shape[2], x.shape[3]
    g.k_h, g.k_w, g.out_c = weights.shape[0], weights.shape[1], weights.shape[2]
    if depth_multiplier < 1 or g.in_c * depth_multiplier != g.out_c:
        raise ValueError(f"{g.in_c} input channels x multiplier {depth_multiplier} "
                         f"!= {g.out_c} weight channels")
    if bias.shape[0] != g.out_c or mult.shape[0] != g.out_c or shift.shape[0] != g.out_c:
        raise ValueError("bias, mult and shift need one entry per output channel")
    if min(stride_h, stride_w, dil_h, dil_w) < 1 or min(pad_top, pad_left, pad_bottom, pad_right) < 0:
        raise ValueError("strides and dilations must be >= 1, pads >= 0")
    g.pad_h, g.pad_w = g.in_h + pad_top + pad_bottom, g.in_w + pad_left + pad_right
    g.out_h = (g.pad_h - ((g.k_h - 1) * dil_h + 1)) // stride_h + 1
    g.out_w = (g.pad_w - ((g.k_w - 1) * dil_w + 1)) // stride_w + 1
    if g.out_h < 1 or g.out_w < 1:
        raise ValueError("the window does not fit the padded input")
    g.depth_mult = depth_multiplier
    g.stride_h, g.stride_w, g.dil_h, g.dil_w = stride_h, stride_w, dil_h, dil_w
    g.pad_top, g.pad_left = pad_top, pad_left
    g.in_zp, g.out_zp, g.act_min, g.act_max = <int16_t>in_zp, out_zp, act_min, act_max
    w16 = np.asarray(weights).reshape(g.k_h * g.k_w, g.out_c).astype(np.int16)
    cdef const int16_t[:, ::1] w = w16
    result = np.empty((n_batch, g.out_h, g.out_w, g.out_c), np.int8)
    cdef int8_t[:, :, :, ::1] out = result
    cdef Py_ssize_t n
    cdef int16_t* xp
    cdef int32_t* acc
    with nogil, parallel():
        xp = <int16_t*>malloc((g.pad_h * g.pad_w * g.out_c + 1) * sizeof(int16_t))
        acc = <int32_t*>malloc((g.out_w * g.out_c + 1) * sizeof(int32_t))
        if xp == NULL or acc == NULL:
            abort()
        for n in prange(n_batch, schedule="static"):
            depthwise_image(x, w, bias, mult, shift, out, n, xp, acc, &g)
        free(xp)
        free(acc)
    return result
