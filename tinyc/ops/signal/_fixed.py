"""Integer helpers of TFLM's signal library (signal/src: msb, square_root, log, max_abs) in NumPy.

TFLM's package is built with GCC or clang, so MostSignificantBit32(0) is 32 (its __builtin_clz branch), not 0.
Unsigned C arithmetic wraps: values are held as uint64 / int64 and cut to the C type after every operation
that TFLM does in that type.
"""

from __future__ import annotations

import numpy as np

U32 = np.uint64(0xFFFFFFFF)

# signal/src/log.cc kLogLut: log2(1 + x) - x over 128 segments, scale 2**16 (and one padding entry)
LOG_LUT = (
    0, 224, 442, 654, 861, 1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797, 2944, 3087, 3224, 3358,
    3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791, 4864, 4934, 5001, 5063, 5123,
    5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507, 5533, 5557, 5578, 5595, 5610, 5622, 5631, 5637, 5640, 5641,
    5638, 5633, 5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470, 5439, 5406, 5370, 5332, 5291, 5249, 5203, 5156,
    5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697, 4630, 4561, 4490, 4416, 4341, 4264, 4184, 4103, 4020, 3935, 3848,
    3759, 3668, 3575, 3481, 3384, 3286, 3186, 3084, 2981, 2875, 2768, 2659, 2549, 2437, 2323, 2207, 2090, 1971, 1851,
    1729, 1605, 1480, 1353, 1224, 1094, 963, 830, 695, 559, 421, 282, 142, 0, 0)
LOG_COEFF = 45426  # ln(2) * 2**16


def wrap16(x: np.ndarray) -> np.ndarray:
    """The int16 a C assignment of an int value stores (two's complement wrap), as int64."""
    return ((np.asarray(x, dtype=np.int64) + 32768) & 0xFFFF) - 32768


def u32(x: np.ndarray) -> np.ndarray:
    """The uint32 a C assignment stores, held as uint64."""
    return np.asarray(x).astype(np.int64).astype(np.uint64) & U32  # int64 <-> uint64 keep the bits


def msb32(x: np.ndarray) -> np.ndarray:
    """MostSignificantBit32: the 1-based index of the top set bit of a uint32; 32 for 0 (GCC build)."""
    x = np.asarray(x, dtype=np.uint64)
    out = np.zeros(x.shape, dtype=np.int64)
    for bit in range(32):
        out = np.where((x >> np.uint64(bit)) != 0, bit + 1, out)
    return np.where(x == 0, 32, out)


def max_abs16(x: np.ndarray) -> np.ndarray:
    """MaxAbs16 over the last axis, element by element as TFLM's loop (its int16 `-value` wraps for -32768)."""
    x = np.asarray(x, dtype=np.int64)
    m = np.zeros(x.shape[:-1], dtype=np.int64)
    for i in range(x.shape[-1]):
        v = x[..., i]
        m = np.where(v > m, v, np.where(-v > m, wrap16(-v), m))
    return m


def _isqrt_round(n: int, cap: int) -> int:
    """Sqrt32/Sqrt64's digit-by-digit root (= floor sqrt, remainder n - r*r) and its rounding step."""
    import math

    r = math.isqrt(n)
    if n - r * r > r and r != cap:
        r += 1
    return r


def sqrt64(x: np.ndarray) -> np.ndarray:
    """Sqrt64 (with its shortcut to Sqrt32 when the upper word is clear) of uint64 values, as uint64."""
    flat = [int(v) for v in np.asarray(x, dtype=np.uint64).reshape(-1)]
    out = [0 if v == 0 else _isqrt_round(v, 0xFFFF if v >> 32 == 0 else 0xFFFFFFFF) for v in flat]
    return np.array(out, dtype=np.uint64).reshape(np.shape(x))


def log32(x: np.ndarray, out_scale: int) -> np.ndarray:
    """Log32(x, out_scale) of uint32 values x > 0 (held as uint64), as uint64: TFLM's fixed-point ln."""
    x = np.asarray(x, dtype=np.uint64)
    integer = msb32(x) - 1
    frac = x.astype(np.int64) - (np.int64(1) << integer)
    frac = np.where(integer < 16, frac << np.maximum(16 - integer, 0), frac >> np.maximum(integer - 16, 0))
    base_seg = frac >> 9
    lut = np.array(LOG_LUT, dtype=np.int64)
    c0, c1 = lut[base_seg], lut[base_seg + 1]
    rel_pos = ((c1 - c0) * (frac - (base_seg << 9))) >> 16
    fraction = (frac + c0 + rel_pos).astype(np.uint64) & U32
    log2 = ((integer.astype(np.uint64) << np.uint64(16)) + fraction) & U32
    loge = ((np.uint64(LOG_COEFF) * log2 + np.uint64(32768)) >> np.uint64(16)) & U32
    return (((np.uint64(out_scale & 0xFFFFFFFF) * loge + np.uint64(32768)) & U32) >> np.uint64(16))
