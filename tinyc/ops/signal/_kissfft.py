"""KISS FFT's int16 fixed-point real FFT (FIXED_POINT=16, as TFLM's signal library builds kissfft 1.3.0).

The tables (twiddles, super twiddles, factors, the input order of the first stage) are computed here exactly as
kiss_fft_alloc / kiss_fftr_alloc compute them at init: floor(0.5 + 32767 * cos(phase)) of the same double
phases. `rfft` runs kiss_fftr on a batch with the int16 wrap of every C assignment; the C template runs the
same stages over the same tables. Only radix 2 and 4 stages are supported (fft_length / 2 a power of two);
TFLM's patched kissfft has no memory for its generic-radix stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from tinyc.ops.signal._fixed import wrap16

RADICES = (2, 4)


def factors(n: int) -> list[tuple[int, int]]:
    """kf_factor: stages (p, m) of an n-point complex FFT, outermost first."""
    out, p, floor_sqrt = [], 4, math.floor(math.sqrt(n))
    while True:
        while n % p:
            p = {4: 2, 2: 3}.get(p, p + 2)
            if p > floor_sqrt:
                p = n
        n //= p
        out.append((p, n))
        if n <= 1:
            return out


def _phase_cexp(phase: float) -> tuple[int, int]:
    return math.floor(0.5 + 32767 * math.cos(phase)), math.floor(0.5 + 32767 * math.sin(phase))


@dataclass(frozen=True)
class RfftTables:
    fft_length: int

    @property
    def ncfft(self) -> int:
        return self.fft_length // 2

    @cached_property
    def stages(self) -> list[tuple[int, int]]:
        return factors(self.ncfft)

    @cached_property
    def twiddles(self) -> np.ndarray:
        """(ncfft, 2) int16: kiss_fft_alloc's forward twiddles."""
        n = self.ncfft
        return np.array([_phase_cexp(-2 * math.pi * i / n) for i in range(n)], dtype=np.int16).reshape(n, 2)

    @cached_property
    def super_twiddles(self) -> np.ndarray:
        """(ncfft / 2, 2) int16: kiss_fftr_alloc's twiddles of the real-input split."""
        n = self.ncfft
        rows = [_phase_cexp(-3.14159265358979323846264338327 * ((i + 1) / n + 0.5)) for i in range(n // 2)]
        return np.array(rows, dtype=np.int16).reshape(n // 2, 2)

    @cached_property
    def order(self) -> np.ndarray:
        """The input element kf_work copies to each position before the butterflies (its recursion, unrolled)."""
        order = np.zeros(self.ncfft, dtype=np.int64)

        def work(out: int, src: int, fstride: int, k: int) -> None:
            p, m = self.stages[k]
            for q in range(p):
                if m == 1:
                    order[out + q] = src + q * fstride
                else:
                    work(out + m * q, src + q * fstride, fstride * p, k + 1)

        work(0, 0, 1, 0)
        return order

    def unsupported(self) -> str | None:
        if self.fft_length < 4 or self.fft_length % 2:
            return f"fft_length {self.fft_length} is not an even number >= 4"
        bad = sorted({p for p, _ in self.stages if p not in RADICES})
        if bad:
            return f"fft_length {self.fft_length} needs radix-{bad[0]} stages (only lengths 2 * 2**k are supported)"
        return None


def _fixdiv(v: np.ndarray, p: int) -> np.ndarray:
    """C_FIXDIV: sround(smul(v, SAMP_MAX / p))."""
    return wrap16((v * (32767 // p) + (1 << 14)) >> 15)


def _cmul(ar: np.ndarray, ai: np.ndarray, br: np.ndarray, bi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return wrap16((ar * br - ai * bi + (1 << 14)) >> 15), wrap16((ar * bi + ai * br + (1 << 14)) >> 15)


def _butterflies(re: np.ndarray, im: np.ndarray, t: RfftTables) -> None:
    """The stages of kf_work in place on (rows, ncfft) int64 arrays, innermost stage first."""
    tw_r, tw_i = t.twiddles[:, 0].astype(np.int64), t.twiddles[:, 1].astype(np.int64)
    rows, n = re.shape
    fstrides = np.cumprod([1] + [p for p, _ in t.stages])[:-1]
    for (p, m), fstride in reversed(list(zip(t.stages, fstrides, strict=True))):
        # blocks of p * m points; within each, point k + j * m of butterfly k
        r = re.reshape(rows, n // (p * m), p, m)
        i = im.reshape(rows, n // (p * m), p, m)
        k = np.arange(m)
        fr = [_fixdiv(r[:, :, j, :], p) for j in range(p)]
        fi = [_fixdiv(i[:, :, j, :], p) for j in range(p)]
        if p == 2:
            tr, ti = _cmul(fr[1], fi[1], tw_r[k * fstride], tw_i[k * fstride])
            r[:, :, 1, :], i[:, :, 1, :] = wrap16(fr[0] - tr), wrap16(fi[0] - ti)
            r[:, :, 0, :], i[:, :, 0, :] = wrap16(fr[0] + tr), wrap16(fi[0] + ti)
            continue
        s0 = _cmul(fr[1], fi[1], tw_r[k * fstride], tw_i[k * fstride])
        s1 = _cmul(fr[2], fi[2], tw_r[2 * k * fstride], tw_i[2 * k * fstride])
        s2 = _cmul(fr[3], fi[3], tw_r[3 * k * fstride], tw_i[3 * k * fstride])
        s5 = wrap16(fr[0] - s1[0]), wrap16(fi[0] - s1[1])
        f0 = wrap16(fr[0] + s1[0]), wrap16(fi[0] + s1[1])
        s3 = wrap16(s0[0] + s2[0]), wrap16(s0[1] + s2[1])
        s4 = wrap16(s0[0] - s2[0]), wrap16(s0[1] - s2[1])
        r[:, :, 2, :], i[:, :, 2, :] = wrap16(f0[0] - s3[0]), wrap16(f0[1] - s3[1])
        r[:, :, 0, :], i[:, :, 0, :] = wrap16(f0[0] + s3[0]), wrap16(f0[1] + s3[1])
        r[:, :, 1, :], i[:, :, 1, :] = wrap16(s5[0] + s4[1]), wrap16(s5[1] - s4[0])
        r[:, :, 3, :], i[:, :, 3, :] = wrap16(s5[0] - s4[1]), wrap16(s5[1] + s4[0])


def rfft(x: np.ndarray, t: RfftTables) -> np.ndarray:
    """kiss_fftr of int16 rows (rows, fft_length) -> (rows, ncfft + 1, 2) int16 (real, imaginary)."""
    n = t.ncfft
    x = x.astype(np.int64)
    re, im = x[:, 0::2][:, t.order].copy(), x[:, 1::2][:, t.order].copy()
    _butterflies(re, im, t)
    out = np.zeros((x.shape[0], n + 1, 2), dtype=np.int64)
    dc_r, dc_i = _fixdiv(re[:, 0], 2), _fixdiv(im[:, 0], 2)
    out[:, 0, 0], out[:, n, 0] = wrap16(dc_r + dc_i), wrap16(dc_r - dc_i)
    k = np.arange(1, n // 2 + 1)
    fpk_r, fpk_i = _fixdiv(re[:, k], 2), _fixdiv(im[:, k], 2)
    fpnk_r, fpnk_i = _fixdiv(re[:, n - k], 2), _fixdiv(wrap16(-im[:, n - k]), 2)
    f1k = wrap16(fpk_r + fpnk_r), wrap16(fpk_i + fpnk_i)
    f2k = wrap16(fpk_r - fpnk_r), wrap16(fpk_i - fpnk_i)
    st = t.super_twiddles.astype(np.int64)
    tw = _cmul(f2k[0], f2k[1], st[k - 1, 0], st[k - 1, 1])
    out[:, k, 0], out[:, k, 1] = wrap16((f1k[0] + tw[0]) >> 1), wrap16((f1k[1] + tw[1]) >> 1)
    out[:, n - k, 0], out[:, n - k, 1] = wrap16((f1k[0] - tw[0]) >> 1), wrap16((tw[1] - f1k[1]) >> 1)
    return out.astype(np.int16)
