"""Deterministic float32 math of the element-wise float kernels, operation for operation as the C helpers in
`codegen/templates/tinyc_fixedpoint.h.j2` (tinyc_expf, tinyc_expm1f, tinyc_logf, tinyc_tanhf, tinyc_logisticf,
tinyc_sqrtf): every step rounds to float32, no fused multiply-add, no libm at run time, so the reference runtime,
the host and every core give the same bits. TFLM calls libm instead; how far apart the two are is measured in
tests/test_elementwise_ops.py."""

from __future__ import annotations

import numpy as np

F = np.float32
ERR = {"all": "ignore"}
EXP_POLY = tuple(F(c) for c in ("0.00138888892", "0.00833333377", "0.0416666679", "0.166666672", "0.5", "1.0", "1.0"))
LOG_POLY = tuple(F(c) for c in ("7.0376836292e-2", "-1.1514610310e-1", "1.1676998740e-1", "-1.2420140846e-1",
                                "1.4249322787e-1", "-1.6668057665e-1", "2.0000714765e-1", "-2.4999993993e-1",
                                "3.3333331174e-1"))
TANH_POLY = tuple(F(c) for c in ("-5.70498872745e-3", "2.06390887954e-2", "-5.37397155531e-2", "1.33314422036e-1",
                                 "-3.33332819422e-1"))
EXPM1_CUT = F("0.34657359")  # |x| below: exp's polynomial without its constant term (k = 0 there)


def _horner(r: np.ndarray, coefs: tuple) -> np.ndarray:
    p = np.full_like(r, coefs[0])
    for c in coefs[1:]:
        p = p * r + c
    return p


def expf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, F)
    with np.errstate(**ERR):
        kf = x * F("1.44269504")
        k = np.where(kf >= 0, kf + F(0.5), kf - F(0.5))
        k = np.trunc(np.clip(np.nan_to_num(k), -200, 200)).astype(np.int32)
        kk = k.astype(F)
        r = x - kk * F("0.693359375")
        r = r - kk * F("-2.12194440e-4")
        p = _horner(r, EXP_POLY[:-1]) * r + EXP_POLY[-1]  # 1 + r*(1 + r*(0.5 + ...))
        scale = ((np.clip(k, -126, 127) + 127).astype(np.uint32) << np.uint32(23)).view(F)
        y = np.where(k > 127, p * F(2.0**127) * F(2.0), p * scale)
        y = np.where(x > F("88.72283"), F(np.inf), y)
        y = np.where(x < F("-87.33654"), F(0.0), y)
        return np.where(np.isnan(x), x, y).astype(F)


def expm1f(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, F)
    with np.errstate(**ERR):
        small = _horner(x, EXP_POLY[:-1]) * x  # r*(1 + r*(0.5 + ...)) with r = x
        big = expf(x) - F(1.0)
        return np.where((x < -EXPM1_CUT) | (x > EXPM1_CUT), big, small).astype(F)


EXPD_POLY = (1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05,
             -1.65339022054652515390e-06, 4.13813679705723846039e-08)
LN2_HI, LN2_LO, INV_LN2 = 6.93147180369123816490e-01, 1.90821492927058770002e-10, 1.44269504088896338700e+00


def _pow2d(k: np.ndarray) -> np.ndarray:
    return ((np.clip(k, -1022, 1023) + 1023).astype(np.uint64) << np.uint64(52)).view(np.float64)


def expd(x: np.ndarray) -> np.ndarray:
    """exp in double as tinyc_exp: fdlibm's e_exp.c (x = k*ln2 + r, a rational approximation of exp(r), within
    one ulp), each step a float64 operation; 0 below -745.13, +inf above 709.78."""
    x = np.asarray(x, np.float64)
    with np.errstate(**ERR):
        kf = np.trunc(x * INV_LN2 + np.where(x < 0, -0.5, 0.5))
        kf = np.where((x > 0.34657359027997264) | (x < -0.34657359027997264), np.clip(np.nan_to_num(kf), -1100, 1100),
                      0.0)
        k = kf.astype(np.int64)
        hi = x - kf * LN2_HI
        lo = kf * LN2_LO
        r = hi - lo
        t = r * r
        p = np.full_like(t, EXPD_POLY[-1])
        for c in EXPD_POLY[-2::-1]:
            p = c + t * p
        c = r - t * p
        small = 1.0 - ((r * c) / (c - 2.0) - r)
        y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
        y = np.where(k > 1023, y * 2.0, y)
        big = np.where(k >= -1021, y * _pow2d(np.where(k > 1023, k - 1, k)), y * _pow2d(k + 1000) * 2.0**-1000)
        y = np.where(k == 0, small, big)
        y = np.where(x > 7.09782712893383973096e+02, np.inf, y)
        y = np.where(x < -7.45133219101941108420e+02, 0.0, y)
        return np.where(np.isnan(x), x, y)


def logf(x: np.ndarray) -> np.ndarray:
    """Cephes' logf: x = m * 2**e, m in [sqrt(1/2), sqrt(2)), log(1 + f) by a degree-9 polynomial."""
    x = np.asarray(x, F)
    with np.errstate(**ERR):
        sub = (x > 0) & (x < F(1.1754944e-38))
        xs = np.where(sub, x * F(8388608.0), x)
        bits = xs.view(np.uint32)
        e = (bits >> np.uint32(23)).astype(np.int32) - 126 - np.where(sub, 23, 0).astype(np.int32)
        m = ((bits & np.uint32(0x007FFFFF)) | np.uint32(0x3F000000)).view(F)
        low = m < F("0.707106781")
        e = np.where(low, e - 1, e)
        f = np.where(low, m + m - F(1.0), m - F(1.0))
        z = f * f
        y = _horner(f, LOG_POLY) * f * z
        fe = e.astype(F)
        y = y + F("-2.12194440e-4") * fe
        y = y + F(-0.5) * z
        f = f + y
        f = f + F("0.693359375") * fe
        f = np.where(x == 0, F(-np.inf), f)
        f = np.where(x == F(np.inf), x, f)
        f = np.where(x < 0, F(np.nan), f)
        return np.where(np.isnan(x), x, f).astype(F)


def tanhf(x: np.ndarray) -> np.ndarray:
    """Cephes' tanhf: an odd polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above, +-1 past 44."""
    x = np.asarray(x, F)
    with np.errstate(**ERR):
        z = np.abs(x)
        s = expf(z + z)
        big = F(1.0) - F(2.0) / (s + F(1.0))
        big = np.where(x < 0, -big, big)
        s2 = x * x
        small = _horner(s2, TANH_POLY) * s2 * x + x
        y = np.where(z >= F(0.625), big, np.where(x == 0, x, small))
        y = np.where(z > F(44.0), np.where(x > 0, F(1.0), F(-1.0)), y)
        return np.where(np.isnan(x), x, y).astype(F)


def logisticf(x: np.ndarray) -> np.ndarray:
    """TFLM's reference Logistic: 1 past 16.619047, exp(x) below -9, 1 / (1 + exp(-x)) between."""
    x = np.asarray(x, F)
    with np.errstate(**ERR):
        mid = F(1.0) / (F(1.0) + expf(-x))
        y = np.where(x < F(-9.0), expf(x), mid)
        return np.where(x > F("16.619047164916992188"), F(1.0), y).astype(F)


def sqrtf(x: np.ndarray) -> np.ndarray:
    """IEEE's correctly rounded square root (tinyc_sqrtf computes it with integers, exactly)."""
    with np.errstate(**ERR):
        return np.sqrt(np.asarray(x, F)).astype(F)


def floorf(x: np.ndarray) -> np.ndarray:
    """IEEE floor (exact; tinyc_floorf)."""
    return np.floor(np.asarray(x, F)).astype(F)


def roundf(x: np.ndarray) -> np.ndarray:
    """TFLM's RoundToNearest (tinyc_roundf): the floor, plus one above half and at an odd half."""
    x = np.asarray(x, F)
    with np.errstate(**ERR):
        f = np.floor(x)
        d = x - f
        odd = np.fmod(np.nan_to_num(f, posinf=0, neginf=0), F(2.0)) != 0
        return np.where((d < F(0.5)) | ((d == F(0.5)) & ~odd), f, f + F(1.0)).astype(F)


SIN_POLY = tuple(F(c) for c in ("-1.9515295891e-4", "8.3321608736e-3", "-1.6666654611e-1"))
COS_POLY = tuple(F(c) for c in ("2.443315711809948e-5", "-1.388731625493765e-3", "4.166664568298827e-2"))
PIO4 = tuple(F(c) for c in ("0.78515625", "2.4187564849853515625e-4", "3.77489497744594108e-8"))


def _sincosf(xx: np.ndarray, cosine: bool) -> np.ndarray:
    """Cephes' sinf/cosf as tinyc_sincosf: 0 beyond |x| = 8192, NaN for NaN and infinities."""
    xx = np.asarray(xx, F)
    with np.errstate(**ERR):
        x = np.abs(xx)
        ok = x <= F(8192.0)
        xs = np.where(ok, x, F(0.0))
        j = (xs * F("1.27323954473516")).astype(np.int32)
        y = j.astype(F)
        odd = (j & 1) == 1
        j = np.where(odd, j + 1, j)
        y = np.where(odd, y + F(1.0), y)
        j = j & 7
        negative = np.zeros(x.shape, bool) if cosine else xx < 0
        negative = negative ^ (j > 3)
        j = np.where(j > 3, j - 4, j)
        if cosine:
            negative = negative ^ (j > 1)
        r = ((xs - y * PIO4[0]) - y * PIO4[1]) - y * PIO4[2]
        z = r * r
        c = ((COS_POLY[0] * z + COS_POLY[1]) * z + COS_POLY[2]) * z * z
        c = (c - F(0.5) * z) + F(1.0)
        s = ((SIN_POLY[0] * z + SIN_POLY[1]) * z + SIN_POLY[2]) * z * r
        s = s + r
        v = np.where(((j == 1) | (j == 2)) != cosine, c, s)
        v = np.where(negative, -v, v)
        v = np.where(ok, v, F(0.0))
        return np.where(np.isnan(x) | np.isinf(x), F(np.nan), v).astype(F)


def sinf(x: np.ndarray) -> np.ndarray:
    return _sincosf(x, False)


def cosf(x: np.ndarray) -> np.ndarray:
    return _sincosf(x, True)
