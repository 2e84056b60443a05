"""float32 conv2d, depthwise conv2d and fully connected, computed exactly as the generated C computes them.

Each output is a float accumulator starting at 0.0f, products x * w added in the C kernel's loop order
(conv2d: ky, kx, ic, skipping taps outside the input; depthwise: ky, kx; fully connected: k), then
+ bias, then the activation clamp. Everything is in C float; setup.py builds with -ffp-contract=off and
without -ffast-math, so GCC neither fuses multiply-adds nor reorders the sums: the results are the
generated C's, bit for bit.
"""

from libc.stdint cimport int32_t

import numpy as np


cdef inline float clamp(float v, float lo, float hi) noexcept nogil:
    """The C's clamp: v < lo ? lo : v, then v > hi ? hi : v (infinite bounds never bite; NaN passes)."""
    v = lo if v < lo else v
    v = hi if v > hi else v
    return v


def conv2d_f32(const float[:, :, :, ::1] x, const float[:, :, :, ::1] weights, const float[::1] bias,
               int stride_h, int stride_w, int dil_h, int dil_w, int pad_top, int pad_left, int out_h,
               int out_w, double act_min, double act_max):
    """x float32[N,H,W,C], weights float32[OC,KH,KW,C] (OHWI), bias float32[OC] -> float32[N,OH,OW,OC]."""
    cdef Py_ssize_t n_batch = x.shape[0], in_h = x.shape[1], in_w = x.shape[2], in_c = x.shape[3]
    cdef Py_ssize_t out_c = weights.shape[0], k_h = weights.shape[1], k_w = weights.shape[2]
    if weights.shape[3] != in_c or bias.shape[0] != out_c:
        raise ValueError("weights must be [OC, KH, KW, C] and bias [OC]")
    result = np.empty((n_batch, out_h, out_w, out_c), np.float32)
    cdef float[:, :, :, ::1] out = result
    cdef float lo = <float>act_min, hi = <float>act_max, total
    cdef Py_ssize_t n, oy, ox, oc, ky, kx, ic
    cdef int32_t iy, ix
    cdef const float* xp
    cdef const float* wp
    with nogil:
        for n in range(n_batch):
            for oy in range(out_h):
                for ox in range(out_w):
                    for oc in range(out_c):
                        total = 0.0
                        for ky in range(k_h):
                            iy = oy * stride_h - pad_top + ky * dil_h
                            if iy < 0 or iy >= in_h:
                                continue
                            for kx in range(k_w):
                                ix = ox * stride_w - pad_left + kx * dil_w
                                if ix < 0 or ix >= in_w:
                                    continue
                                xp = &x[n, iy, ix, 0]
                                wp = &weights[oc, ky, kx, 0]
                                for ic in range(in_c):
                                    total = total + xp[ic] * wp[ic]
                        total = total + bias[oc]
                        out[n, oy, ox, oc] = clamp(total, lo, hi)
    return result


def depthwise_conv2d_f32(const float[:, :, :, ::1] x, const float[:, :, ::1] weights, const float[::1] bias,
                         int depth_multiplier, int stride_h, int stride_w, int dil_h, int dil_w, int pad_top,
                         int pad_left, int out_h, int out_w, double act_min, double act_max):
    """x float32[N,H,W,C], weights float32[KH,KW,C*depth_multiplier], bias float32[OC] -> float32[N,OH,OW,OC].

    Output channel oc reads input channel oc // depth_multiplier.
    """
    cdef Py_ssize_t n_batch = x.shape[0], in_h = x.shape[1], in_w = x.shape[2], in_c = x.shape[3]
    cdef Py_ssize_t k_h = weights.shape[0], k_w = weights.shape[1], out_c = weights.shape[2]
    if depth_multiplier < 1 or in_c * depth_multiplier != out_c or bias.shape[0] != out_c:
        raise ValueError(f"{in_c} input channels x multiplier {depth_multiplier} != {out_c} weight channels")
    result = np.empty((n_batch, out_h, out_w, out_c), np.float32)
    cdef float[:, :, :, ::1] out = result
    cdef float lo = <float>act_min, hi = <float>act_max, total
    cdef Py_ssize_t n, oy, ox, oc, ky, kx
    cdef int32_t iy, ix
    with nogil:
        for n in range(n_batch):
            for oy in range(out_h):
                for ox in range(out_w):
                    for oc in range(out_c):
                        total = 0.0
                        for ky in range(k_h):
                            iy = oy * stride_h - pad_top + ky * dil_h
                            for kx in range(k_w):
                                ix = ox * stride_w - pad_left + kx * dil_w
                                if iy >= 0 and iy < in_h and ix >= 0 and ix < in_w:
                                    total = total + x[n, iy, ix, oc // depth_multiplier] * weights[ky, kx, oc]
                        total = total + bias[oc]
                        out[n, oy, ox, oc] = clamp(total, lo, hi)
    return result


def fully_connected_f32(const float[:, ::1] x, const float[:, ::1] weights, const float[::1] bias,
                        double act_min, double act_max):
    """x float32[R, K], weights float32[U, K], bias float32[U] -> float32[R, U]."""
    cdef Py_ssize_t rows = x.shape[0], depth = x.shape[1], units = weights.shape[0]
    if weights.shape[1] != depth or bias.shape[0] != units:
        raise ValueError(f"weights are {units}x{weights.shape[1]}, input rows have {depth} values")
    result = np.empty((rows, units), np.float32)
    cdef float[:, ::1] out = result
    cdef float lo = <float>act_min, hi = <float>act_max, total
    cdef Py_ssize_t r, u, k
    cdef const float* xp
    cdef const float* wp
    with nogil:
        for r in range(rows):
            xp = &x[r, 0] if depth else NULL
            for u in range(units):
                wp = &weights[u, 0] if depth else NULL
                total = 0.0
                for k in range(depth):
                    total = total + xp[k] * wp[k]
                total = total + bias[u]
                out[r, u] = clamp(total, lo, hi)
    return result
