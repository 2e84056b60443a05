"""KISS FFT's real FFT and its inverse as TFLM's signal library builds kissfft 1.3.0: FIXED_POINT=16 (int16),
FIXED_POINT=32 (int32) and float.

The tables (twiddles, super twiddles, factors, the input order of the first stage) are computed here exactly as
kiss_fft_alloc / kiss_fftr_alloc compute them at init from the same double phases: floor(0.5 + SAMP_MAX *
cos(phase)) for the fixed-point builds, (float)cos(phase) for float (Python's math.cos is the C library's).
`rfft` runs kiss_fftr and `irfft` kiss_fftri on a batch with the arithmetic of the build (`Arith`): the fixed
ones wrap every C assignment to their type, float rounds every operation to float32 in the C's order. The C
template runs the same stages over the same tables. Radix 2, 3, 4 and 5 stages are supported (kf_bfly2..5);
lengths with other prime factors are refused (TFLM's patched kissfft has no memory for its generic stage).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from tinyc.ops.signal._fixed import wrap16

RADICES = (2, 3, 4, 5)
DTYPES = ("int16", "int32", "float32")


def wrap32(x: np.ndarray) -> np.ndarray:
    """The int32 a C assignment of a (wider) integer stores, as int64."""
    return ((np.asarray(x, dtype=np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@dataclass(frozen=True)
class Arith:
    """kissfft's scalar macros of one build on NumPy arrays (fixed: int64 holding the C type's values)."""

    dtype: str

    @property
    def fixed(self) -> bool:
        return self.dtype != "float32"

    @property
    def frac_bits(self) -> int:
        return 15 if self.dtype == "int16" else 31

    @property
    def samp_max(self) -> int:
        return (1 << self.frac_bits) - 1

    def wrap(self, x: np.ndarray) -> np.ndarray:
        return wrap16(x) if self.dtype == "int16" else wrap32(x)

    def load(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.int64) if self.fixed else x.astype(np.float32)

    def store(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.dtype(self.dtype))

    def sround(self, x: np.ndarray) -> np.ndarray:
        return self.wrap((x + (1 << (self.frac_bits - 1))) >> self.frac_bits)

    def fixdiv(self, v: np.ndarray, p: int) -> np.ndarray:
        """C_FIXDIV: sround(smul(v, SAMP_MAX / p)); nothing in float (a copy: the stages write over `v`)."""
        return self.sround(v * (self.samp_max // p)) if self.fixed else v.copy()

    def smul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """S_MUL (and C_MULBYSCALAR's products)."""
        return self.sround(a * b) if self.fixed else a * b

    def cmul(self, ar, ai, br, bi):  # noqa: ANN001, ANN201
        if self.fixed:
            return self.sround(ar * br - ai * bi), self.sround(ar * bi + ai * br)
        return ar * br - ai * bi, ar * bi + ai * br

    def add(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.wrap(a + b) if self.fixed else a + b

    def sub(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.wrap(a - b) if self.fixed else a - b

    def neg(self, a: np.ndarray) -> np.ndarray:
        return self.wrap(-a) if self.fixed else -a

    def times_minus_one(self, a: np.ndarray) -> np.ndarray:
        """`x *= -1` (float: a multiplication, which keeps a NaN's sign on x86 unlike a negation)."""
        return self.wrap(-a) if self.fixed else a * np.float32(-1)

    def half(self, s: np.ndarray) -> np.ndarray:
        """HALF_OF of a scalar or of a sum or difference `s` of two: int16 sums are ints (no wrap before the
        shift), int32 ones wrap; float halves in float."""
        if self.dtype == "int16":
            return wrap16(s >> 1)
        if self.dtype == "int32":
            return wrap32(s) >> 1
        return s * np.float32(0.5)


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


@dataclass(frozen=True)
class KissTables:
    """kiss_fftr_alloc(fft_length, inverse) of one build."""

    fft_length: int
    dtype: str = "int16"
    inverse: bool = False

    @property
    def ncfft(self) -> int:
        return self.fft_length // 2

    @property
    def arith(self) -> Arith:
        return Arith(self.dtype)

    @cached_property
    def stages(self) -> list[tuple[int, int]]:
        return factors(self.ncfft)

    def _cexp(self, phase: float) -> tuple:
        if self.inverse:
            phase *= -1
        a = self.arith
        if a.fixed:
            return math.floor(0.5 + a.samp_max * math.cos(phase)), math.floor(0.5 + a.samp_max * math.sin(phase))
        return math.cos(phase), math.sin(phase)

    def _table(self, rows: list[tuple]) -> np.ndarray:
        return np.array(rows, dtype=np.float64 if not self.arith.fixed else np.int64).astype(
            np.dtype(self.dtype)).reshape(len(rows), 2)

    @cached_property
    def twiddles(self) -> np.ndarray:
        """(ncfft, 2): kiss_fft_alloc's twiddles."""
        n = self.ncfft
        return self._table([self._cexp(-2 * math.pi * i / n) for i in range(n)])

    @cached_property
    def super_twiddles(self) -> np.ndarray:
        """(ncfft / 2, 2): kiss_fftr_alloc's twiddles of the real-input split."""
        n = self.ncfft
        return self._table([self._cexp(-3.14159265358979323846264338327 * ((i + 1) / n + 0.5))
                            for i in range(n // 2)])

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

    @cached_property
    def stage_plan(self) -> tuple[tuple[int, int, int], ...]:
        """(radix, m, fstride) of each stage in the order they run (innermost first)."""
        fstrides = np.cumprod([1] + [p for p, _ in self.stages])[:-1]
        return tuple((p, m, int(f)) for (p, m), f in reversed(list(zip(self.stages, fstrides, strict=True))))

    def unsupported(self) -> str | None:
        if self.fft_length < 4 or self.fft_length % 2:
            return f"fft_length {self.fft_length} is not an even number >= 4"
        bad = sorted({p for p, _ in self.stages if p not in RADICES})
        if bad:
            return (f"fft_length {self.fft_length} needs a radix-{bad[0]} stage (fft_length / 2 may have the prime "
                    f"factors 2, 3 and 5 only)")
        return None


def _butterflies(re: np.ndarray, im: np.ndarray, t: KissTables) -> None:
    """The stages of kf_work in place on (rows, ncfft) arrays, innermost stage first."""
    a = t.arith
    tw_r, tw_i = a.load(t.twiddles[:, 0]), a.load(t.twiddles[:, 1])
    rows, n = re.shape
    for p, m, fstride in t.stage_plan:
        # blocks of p * m points; within each, point k + j * m of butterfly k
        r = re.reshape(rows, n // (p * m), p, m)
        i = im.reshape(rows, n // (p * m), p, m)
        k = np.arange(m)
        fr = [a.fixdiv(r[:, :, j, :], p) for j in range(p)]
        fi = [a.fixdiv(i[:, :, j, :], p) for j in range(p)]
        if p == 2:
            tr, ti = a.cmul(fr[1], fi[1], tw_r[k * fstride], tw_i[k * fstride])
            r[:, :, 1, :], i[:, :, 1, :] = a.sub(fr[0], tr), a.sub(fi[0], ti)
            r[:, :, 0, :], i[:, :, 0, :] = a.add(fr[0], tr), a.add(fi[0], ti)
            continue
        if p == 3:
            _bfly3(r, i, fr, fi, tw_r, tw_i, k, m, fstride, a)
            continue
        if p == 5:
            _bfly5(r, i, fr, fi, tw_r, tw_i, k, m, fstride, a)
            continue
        s0 = a.cmul(fr[1], fi[1], tw_r[k * fstride], tw_i[k * fstride])
        s1 = a.cmul(fr[2], fi[2], tw_r[2 * k * fstride], tw_i[2 * k * fstride])
        s2 = a.cmul(fr[3], fi[3], tw_r[3 * k * fstride], tw_i[3 * k * fstride])
        s5 = a.sub(fr[0], s1[0]), a.sub(fi[0], s1[1])
        f0 = a.add(fr[0], s1[0]), a.add(fi[0], s1[1])
        s3 = a.add(s0[0], s2[0]), a.add(s0[1], s2[1])
        s4 = a.sub(s0[0], s2[0]), a.sub(s0[1], s2[1])
        r[:, :, 2, :], i[:, :, 2, :] = a.sub(f0[0], s3[0]), a.sub(f0[1], s3[1])
        r[:, :, 0, :], i[:, :, 0, :] = a.add(f0[0], s3[0]), a.add(f0[1], s3[1])
        if t.inverse:
            r[:, :, 1, :], i[:, :, 1, :] = a.sub(s5[0], s4[1]), a.add(s5[1], s4[0])
            r[:, :, 3, :], i[:, :, 3, :] = a.add(s5[0], s4[1]), a.sub(s5[1], s4[0])
        else:
            r[:, :, 1, :], i[:, :, 1, :] = a.add(s5[0], s4[1]), a.sub(s5[1], s4[0])
            r[:, :, 3, :], i[:, :, 3, :] = a.sub(s5[0], s4[1]), a.add(s5[1], s4[0])


def _bfly3(r, i, fr, fi, tw_r, tw_i, k, m, fstride, a) -> None:  # noqa: ANN001
    """kf_bfly3 (the same for both directions: the twiddles carry the direction)."""
    s1 = a.cmul(fr[1], fi[1], tw_r[k * fstride], tw_i[k * fstride])
    s2 = a.cmul(fr[2], fi[2], tw_r[2 * k * fstride], tw_i[2 * k * fstride])
    s3 = a.add(s1[0], s2[0]), a.add(s1[1], s2[1])
    s0 = a.sub(s1[0], s2[0]), a.sub(s1[1], s2[1])
    f1 = a.sub(fr[0], a.half(s3[0])), a.sub(fi[0], a.half(s3[1]))
    epi3 = tw_i[fstride * m]
    s0 = a.smul(s0[0], epi3), a.smul(s0[1], epi3)
    r[:, :, 0, :], i[:, :, 0, :] = a.add(fr[0], s3[0]), a.add(fi[0], s3[1])
    r[:, :, 2, :], i[:, :, 2, :] = a.add(f1[0], s0[1]), a.sub(f1[1], s0[0])
    r[:, :, 1, :], i[:, :, 1, :] = a.sub(f1[0], s0[1]), a.add(f1[1], s0[0])


def _bfly5(r, i, fr, fi, tw_r, tw_i, k, m, fstride, a) -> None:  # noqa: ANN001
    """kf_bfly5, its sums in kissfft's order."""
    s = [None] * 13
    s[0] = fr[0], fi[0]
    for q in range(1, 5):
        s[q] = a.cmul(fr[q], fi[q], tw_r[q * k * fstride], tw_i[q * k * fstride])
    ya, yb = (tw_r[fstride * m], tw_i[fstride * m]), (tw_r[2 * fstride * m], tw_i[2 * fstride * m])
    s[7] = a.add(s[1][0], s[4][0]), a.add(s[1][1], s[4][1])
    s[10] = a.sub(s[1][0], s[4][0]), a.sub(s[1][1], s[4][1])
    s[8] = a.add(s[2][0], s[3][0]), a.add(s[2][1], s[3][1])
    s[9] = a.sub(s[2][0], s[3][0]), a.sub(s[2][1], s[3][1])
    r[:, :, 0, :] = a.add(fr[0], a.add(s[7][0], s[8][0]))
    i[:, :, 0, :] = a.add(fi[0], a.add(s[7][1], s[8][1]))
    s[5] = (a.add(a.add(s[0][0], a.smul(s[7][0], ya[0])), a.smul(s[8][0], yb[0])),
            a.add(a.add(s[0][1], a.smul(s[7][1], ya[0])), a.smul(s[8][1], yb[0])))
    s[6] = (a.add(a.smul(s[10][1], ya[1]), a.smul(s[9][1], yb[1])),
            a.sub(a.neg(a.smul(s[10][0], ya[1])), a.smul(s[9][0], yb[1])))
    r[:, :, 1, :], i[:, :, 1, :] = a.sub(s[5][0], s[6][0]), a.sub(s[5][1], s[6][1])
    r[:, :, 4, :], i[:, :, 4, :] = a.add(s[5][0], s[6][0]), a.add(s[5][1], s[6][1])
    s[11] = (a.add(a.add(s[0][0], a.smul(s[7][0], yb[0])), a.smul(s[8][0], ya[0])),
             a.add(a.add(s[0][1], a.smul(s[7][1], yb[0])), a.smul(s[8][1], ya[0])))
    s[12] = (a.add(a.neg(a.smul(s[10][1], yb[1])), a.smul(s[9][1], ya[1])),
             a.sub(a.smul(s[10][0], yb[1]), a.smul(s[9][0], ya[1])))
    r[:, :, 2, :], i[:, :, 2, :] = a.add(s[11][0], s[12][0]), a.add(s[11][1], s[12][1])
    r[:, :, 3, :], i[:, :, 3, :] = a.sub(s[11][0], s[12][0]), a.sub(s[11][1], s[12][1])


def rfft(x: np.ndarray, t: KissTables) -> np.ndarray:
    """kiss_fftr of rows (rows, fft_length) -> (rows, ncfft + 1, 2) of the build's dtype (real, imaginary)."""
    a, n = t.arith, t.ncfft
    x = a.load(x)
    re, im = x[:, 0::2][:, t.order].copy(), x[:, 1::2][:, t.order].copy()
    _butterflies(re, im, t)
    out = np.zeros((x.shape[0], n + 1, 2), dtype=re.dtype)
    dc_r, dc_i = a.fixdiv(re[:, 0], 2), a.fixdiv(im[:, 0], 2)
    out[:, 0, 0], out[:, n, 0] = a.add(dc_r, dc_i), a.sub(dc_r, dc_i)
    k = np.arange(1, n // 2 + 1)
    fpk_r, fpk_i = a.fixdiv(re[:, k], 2), a.fixdiv(im[:, k], 2)
    fpnk_r, fpnk_i = a.fixdiv(re[:, n - k], 2), a.fixdiv(a.neg(im[:, n - k]), 2)
    f1k = a.add(fpk_r, fpnk_r), a.add(fpk_i, fpnk_i)
    f2k = a.sub(fpk_r, fpnk_r), a.sub(fpk_i, fpnk_i)
    st = a.load(t.super_twiddles)
    tw = a.cmul(f2k[0], f2k[1], st[k - 1, 0], st[k - 1, 1])
    out[:, k, 0], out[:, k, 1] = a.half(f1k[0] + tw[0]), a.half(f1k[1] + tw[1])
    out[:, n - k, 0], out[:, n - k, 1] = a.half(f1k[0] - tw[0]), a.half(tw[1] - f1k[1])
    return a.store(out)


def irfft(z: np.ndarray, t: KissTables) -> np.ndarray:
    """kiss_fftri of (rows, ncfft + 1, 2) complex rows of the build's dtype -> (rows, fft_length), unscaled."""
    a, n = t.arith, t.ncfft
    z = a.load(z)
    re, im = np.zeros((len(z), n), dtype=z.dtype), np.zeros((len(z), n), dtype=z.dtype)
    re[:, 0] = a.fixdiv(a.add(z[:, 0, 0], z[:, n, 0]), 2)
    im[:, 0] = a.fixdiv(a.sub(z[:, 0, 0], z[:, n, 0]), 2)
    k = np.arange(1, n // 2 + 1)
    fk_r, fk_i = a.fixdiv(z[:, k, 0], 2), a.fixdiv(z[:, k, 1], 2)
    fnkc_r, fnkc_i = a.fixdiv(z[:, n - k, 0], 2), a.fixdiv(a.neg(z[:, n - k, 1]), 2)
    fek = a.add(fk_r, fnkc_r), a.add(fk_i, fnkc_i)
    tmp = a.sub(fk_r, fnkc_r), a.sub(fk_i, fnkc_i)
    st = a.load(t.super_twiddles)
    fok = a.cmul(tmp[0], tmp[1], st[k - 1, 0], st[k - 1, 1])
    re[:, k], im[:, k] = a.add(fek[0], fok[0]), a.add(fek[1], fok[1])
    # for k = ncfft / 2 both land on one bin: the difference, written second, stays
    re[:, n - k], im[:, n - k] = a.sub(fek[0], fok[0]), a.times_minus_one(a.sub(fek[1], fok[1]))
    re, im = re[:, t.order].copy(), im[:, t.order].copy()
    _butterflies(re, im, t)
    return a.store(np.stack([re, im], axis=2).reshape(len(z), 2 * n))
