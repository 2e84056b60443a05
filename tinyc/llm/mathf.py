"""Deterministic float32 primitives shared by the reference runtime and (as C) by the generated code.

Every function here computes exactly what `tinyc/codegen/llm/model.c.j2` computes, operation by operation
in float32 (integer parts exactly, as the C's int32): sums are strictly sequential (`np.add.accumulate`, never
NumPy's pairwise reductions or BLAS), there is no fused multiply-add, and no libm transcendental is used at
run time: `expf` is a Cephes-style range reduction plus polynomial in plain float operations, RoPE tables are
computed here at compile time and stored as constants, and `sqrt` is IEEE's correctly rounded square root.
"""

from __future__ import annotations

import math

import numpy as np

F = np.float32
ZERO = F(0.0)

# expf: x = k*ln2 + r, |r| <= ln2/2; exp(r) by a degree-7 polynomial (Cephes expf coefficients).
EXP_LOG2E = F(1.44269504088896341)
EXP_C1 = F(0.693359375)  # ln2 split: C1 has few bits so k*C1 is exact
EXP_C2 = F(-2.12194440e-4)
EXP_POLY = tuple(F(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                                 1.6666665459e-1, 5.0000001201e-1))
EXP_LO = F(-87.0)  # below: 0
EXP_HI = F(88.0)  # above: clamped (exp(88) ~ 1.65e38 stays finite)


def expf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=F)
    xc = np.minimum(np.maximum(x, EXP_LO), EXP_HI)
    t = xc * EXP_LOG2E
    k = np.where(t >= ZERO, t + F(0.5), t - F(0.5)).astype(np.int32)  # round half away (C: (int) truncates)
    kf = k.astype(F)
    r = (xc - kf * EXP_C1) - kf * EXP_C2
    z = r * r
    p = np.full_like(r, EXP_POLY[0])
    for c in EXP_POLY[1:]:
        p = p * r + c
    y = (p * z + r) + F(1.0)
    two_k = ((k + 127).astype(np.uint32) << np.uint32(23)).view(F)
    return np.where(x < EXP_LO, ZERO, y * two_k).astype(F)


def seqsum(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """C's `s = 0.0f; for (...) s += a[j];` along `axis`: sequential, and +0.0f-started (so never -0.0)."""
    a = np.asarray(a, dtype=F)
    if a.shape[axis] == 0:
        return np.zeros(np.delete(a.shape, axis % a.ndim), dtype=F)
    return np.take(np.add.accumulate(a, axis=axis, dtype=F), -1, axis=axis) + ZERO


def matvec(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """W [d, n] @ x [n] with one sequential float32 sum per row."""
    return seqsum(w * x, axis=-1)


def rmsnorm(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    ss = seqsum(x * x)
    ss = ss / F(x.shape[-1])
    ss = ss + F(1e-5)
    ss = F(1.0) / np.sqrt(ss)
    return weight * (ss * x)


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise (last axis) softmax: max, exp(x - max), sequential sum, divide."""
    m = np.max(x, axis=-1, keepdims=True)
    e = expf(x - m)
    s = seqsum(e)[..., None]
    return (e / s).astype(F)


def silu_mul(h1: np.ndarray, h3: np.ndarray) -> np.ndarray:
    """run.c's SwiGLU: val = h1; val *= 1/(1+exp(-val)); val *= h3."""
    v = h1 * (F(1.0) / (F(1.0) + expf(-h1)))
    return v * h3


def round_half_away(v: np.ndarray) -> np.ndarray:
    """C: (int)(v >= 0 ? v + 0.5f : v - 0.5f), evaluated in float32."""
    v = np.asarray(v, dtype=F)
    return np.where(v >= ZERO, v + F(0.5), v - F(0.5)).astype(np.int32)


def rope_tables(context: int, head_size: int) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin [context, head_size/2] as run.c computes them per position, correctly rounded to float32.

    run.c: freq = 1.0f / powf(10000.0f, head_dim / (float)head_size); val = pos * freq; cosf(val), sinf(val).
    Here powf/cosf/sinf are evaluated in double and rounded once, i.e. correctly rounded (glibc's are too,
    but not every libm's): the tables are constants of the model, identical on every target.
    """
    half = head_size // 2
    cos = np.empty((context, half), dtype=F)
    sin = np.empty((context, half), dtype=F)
    freqs = [F(1.0) / F(10000.0 ** float(F(2 * j) / F(head_size))) for j in range(half)]
    for pos in range(context):
        for j, freq in enumerate(freqs):
            val = float(F(pos) * freq)
            cos[pos, j] = F(math.cos(val))
            sin[pos, j] = F(math.sin(val))
    return cos, sin


def rope(vec: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate pairs (v0, v1) of each head of vec [heads, head_size] by the tables' row for this position."""
    v0, v1 = vec[..., 0::2], vec[..., 1::2]
    out = np.empty_like(vec)
    out[..., 0::2] = v0 * cos - v1 * sin
    out[..., 1::2] = v0 * sin + v1 * cos
    return out


def fnv1a_words(values: np.ndarray) -> int:
    """The per-step logits hash the generated trace main prints: FNV-1a over the 32-bit words."""
    h = 2166136261
    for w in np.asarray(values, dtype=F).view(np.uint32).tolist():
        h = ((h ^ w) * 16777619) & 0xFFFFFFFF
    return h


# -- int8 run-time kernels ------------------------------------------------------------------------------
def quantize_groups(x: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per group of the last axis, as the C does it at run time.

    amax = max|x|; scale = amax / 127.0f; inv = amax > 0 ? 127.0f / amax : 0; q = round_half_away(x * inv).
    """
    n = x.shape[-1]
    ng = -(-n // group)
    q = np.empty(x.shape, dtype=np.int8)
    s = np.empty((*x.shape[:-1], ng), dtype=F)
    for g in range(ng):
        xs = x[..., g * group:(g + 1) * group]
        amax = np.max(np.abs(xs), axis=-1)
        inv = np.where(amax > ZERO, F(127.0) / np.where(amax > ZERO, amax, F(1.0)), ZERO).astype(F)
        s[..., g] = amax / F(127.0)
        q[..., g * group:(g + 1) * group] = round_half_away(xs * inv[..., None])
    return q, s


def value_weight_max(context: int) -> int:
    """Largest integer attention weight of the int8 KV cache: 15 bits, fewer when a context this long could
    overflow the int32 sum of weight * value (|value| <= 127) over every cached position."""
    return min(32767, (2**31 - 1) // (128 * context))


def attention_q8(qq: np.ndarray, qs: np.ndarray, kq: np.ndarray, ks: np.ndarray, vq: np.ndarray,
                 vs: np.ndarray, vmax: np.ndarray, sqrt_hs: np.float32, wmax: int) -> np.ndarray:
    """Attention of every head over an int8 KV cache, as the C computes it (per head h, positions t in order):

    score[t] = ((float)dot(qq_h, kq[t]) * ks[t]) * (qs_h / sqrt_hs), the dot product exact in int32;
    e[t] = expf(score[t] - max score); sum = sequential sum of e;
    w[t] = (int32)((e[t] * vs[t]) * inv + 0.5f) with inv = wmax / vmax (0 if vmax is 0), vmax the largest
    value scale cached, so 0 <= w[t] <= wmax; out = (float)(sum_t w[t] * vq[t], exact) * ((vmax / wmax) / sum).

    qq [heads, hs] int8, qs [heads]; kq, vq [heads, T, hs] int8; ks, vs [heads, T]; vmax [heads].
    """
    isum = np.einsum("hi,hti->ht", qq.astype(np.int64), kq.astype(np.int64))
    score = (isum.astype(F) * ks) * (qs / sqrt_hs)[:, None]
    e = expf(score - np.max(score, axis=-1, keepdims=True))
    total = seqsum(e)
    wf = F(wmax)
    inv = np.where(vmax > ZERO, wf / np.where(vmax > ZERO, vmax, F(1.0)), ZERO).astype(F)
    w = ((e * vs) * inv[:, None] + F(0.5)).astype(np.int64)
    acc = np.einsum("ht,hti->hi", w, vq.astype(np.int64))
    return acc.astype(F) * ((vmax / wf) / total)[:, None]


def matvec_q8(wq: np.ndarray, ws: np.ndarray, xq: np.ndarray, xs: np.ndarray, group: int) -> np.ndarray:
    """out[i] = sum over groups g, in order, of ((float)isum_ig * ws[i, g]) * xs[g]; isum exact in int32."""
    n = wq.shape[-1]
    acc = np.zeros(wq.shape[0], dtype=F)
    for g in range(ws.shape[-1]):
        sl = slice(g * group, min(n, (g + 1) * group))
        isum = wq[:, sl].astype(np.int32) @ xq[sl].astype(np.int32)
        acc = acc + (isum.astype(F) * ws[:, g]) * xs[g]
    return acc
