"""The Cython int8 kernels equal an independent NumPy oracle byte for byte, on random geometries.

The oracle is the NumPy implementation the runtime used before the Cython kernels (float64 im2col
products, exact for int8 at these sizes, then TFLM's requantization in int64 NumPy). The fixed-point
requantization is also checked against plain Python integers on its edge cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyc._kernels import add as add_k
from tinyc._kernels import conv2d as conv_k
from tinyc._kernels import depthwise_conv2d as dw_k
from tinyc._kernels import fully_connected as fc_k
from tinyc._kernels import requantize as rq_k
from tinyc.lower.plan import Step
from tinyc.numerics import multiply_by_quantized_multiplier
from tinyc.ops import KERNELS

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
N_CASES = 150

# --- the NumPy oracle ---


def requantize(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, out_zp: int, lo: int,
               hi: int) -> np.ndarray:
    out = multiply_by_quantized_multiplier(acc, mult, shift) + out_zp
    return np.clip(out, lo, hi).astype(np.int8)


def patches(x: np.ndarray, kh: int, kw: int, stride: tuple[int, int], dilation: tuple[int, int],
            pads: tuple[int, int, int, int], pad_value: float) -> np.ndarray:
    """(N, H, W, C) -> view (N, OH, OW, C, KH, KW) of the windows, borders padded with pad_value."""
    top, left, bottom, right = pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=pad_value)
    eff_h, eff_w = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (eff_h, eff_w), axis=(1, 2))
    return win[:, :: stride[0], :: stride[1], :, :: dilation[0], :: dilation[1]]


def oracle_conv2d(x, w, bias, mult, shift, g) -> np.ndarray:
    p = patches(x.astype(np.float64), w.shape[1], w.shape[2], g["stride"], g["dilation"], g["pads"],
                g["in_zp"])
    n, oh, ow = p.shape[:3]
    cols = p.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, -1)
    acc = (cols @ w.reshape(w.shape[0], -1).astype(np.float64).T).reshape(n, oh, ow, -1)
    return requantize(acc.astype(np.int64) + bias, mult, shift, g["out_zp"], g["act_min"], g["act_max"])


def oracle_depthwise(x, w, bias, mult, shift, g) -> np.ndarray:
    dm = g["depth_multiplier"]
    xr = np.repeat(x, dm, axis=3) if dm > 1 else x
    p = patches(xr.astype(np.float64), w.shape[0], w.shape[1], g["stride"], g["dilation"], g["pads"],
                g["in_zp"])
    acc = np.einsum("nhwckl,klc->nhwc", p, w.astype(np.float64), optimize=True)
    return requantize(acc.astype(np.int64) + bias, mult, shift, g["out_zp"], g["act_min"], g["act_max"])


def oracle_fc(x, w, bias, mult, shift, g) -> np.ndarray:
    acc = (x.astype(np.float64) @ w.astype(np.float64).T).astype(np.int64) + bias
    return requantize(acc, mult, shift, g["out_zp"], g["act_min"], g["act_max"])


# --- random cases ---


def int8s(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform int8, or (a third of the time) only the extremes -128 / 127, or mostly extremes."""
    kind = rng.integers(3)
    if kind == 0:
        return rng.integers(-128, 128, shape, dtype=np.int8)
    extremes = rng.choice(np.array([-128, 127], np.int8), shape)
    if kind == 1:
        return extremes
    return np.where(rng.random(shape) < 0.7, extremes, rng.integers(-128, 128, shape, dtype=np.int8))


def requant_params(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel Q31 multipliers (incl. 0, 2**30, 2**31 - 1) and shifts in -31..+10."""
    mult = rng.integers(1 << 30, 1 << 31, n).astype(np.int64)
    special = rng.random(n) < 0.15
    mult[special] = rng.choice([0, 1 << 30, INT32_MAX, 1], special.sum())
    shift = np.where(rng.random(n) < 0.7, rng.integers(-12, 1, n), rng.integers(-31, 11, n))
    return mult.astype(np.int32), shift.astype(np.int32)


def output_params(rng: np.random.Generator) -> dict:
    lo, hi = sorted(rng.integers(-128, 128, 2).tolist()) if rng.random() < 0.3 else (-128, 127)
    return {"in_zp": int(rng.integers(-128, 128)), "out_zp": int(rng.integers(-128, 128)),
            "act_min": lo, "act_max": hi}


def window_case(rng: np.random.Generator, k_max: int = 5) -> dict:
    while True:
        kh, kw = (int(v) for v in rng.integers(1, k_max + 1, 2))
        stride = tuple(int(v) for v in rng.integers(1, 3, 2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
        pads = tuple(int(v) for v in rng.integers(0, 4, 4))
        h, w = (int(v) for v in rng.integers(1, 11, 2))
        oh = (h + pads[0] + pads[2] - ((kh - 1) * dilation[0] + 1)) // stride[0] + 1
        ow = (w + pads[1] + pads[3] - ((kw - 1) * dilation[1] + 1)) // stride[1] + 1
        if oh >= 1 and ow >= 1:
            return {"kh": kh, "kw": kw, "stride": stride, "dilation": dilation, "pads": pads, "h": h, "w": w,
                    "n": int(rng.integers(1, 4))} | output_params(rng)


def channels(rng: np.random.Generator, hi: int) -> int:
    return int(rng.choice([1, 2, 3, 4, 5, 8, 16, int(rng.integers(1, hi + 1))]))


def geometry_args(g: dict) -> tuple[int, ...]:
    (sh, sw), (dh, dw), (top, left, bottom, right) = g["stride"], g["dilation"], g["pads"]
    return sh, sw, dh, dw, top, left, bottom, right, g["in_zp"], g["out_zp"], g["act_min"], g["act_max"]


@pytest.mark.parametrize("seed", range(N_CASES))
def test_conv2d_equals_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = window_case(rng)
    cin, cout = channels(rng, 40), channels(rng, 21)
    x = int8s(rng, (g["n"], g["h"], g["w"], cin))
    w = int8s(rng, (cout, g["kh"], g["kw"], cin))
    bias = rng.integers(-(1 << 24), 1 << 24, cout).astype(np.int32)
    mult, shift = requant_params(rng, cout)
    ours = conv_k.conv2d_s8(x, w, bias, mult, shift, *geometry_args(g))
    expected = oracle_conv2d(x, w, bias, mult, shift, g)
    assert ours.dtype == np.int8 and ours.shape == expected.shape
    assert ours.tobytes() == expected.tobytes(), g


@pytest.mark.parametrize("seed", range(N_CASES))
def test_depthwise_conv2d_equals_oracle(seed: int) -> None:
    rng = np.random.default_rng(10_000 + seed)
    g = window_case(rng)
    cin, dm = channels(rng, 40), int(rng.choice([1, 1, 2, 3, 4]))
    g["depth_multiplier"] = dm
    x = int8s(rng, (g["n"], g["h"], g["w"], cin))
    w = int8s(rng, (g["kh"], g["kw"], cin * dm))
    bias = rng.integers(-(1 << 24), 1 << 24, cin * dm).astype(np.int32)
    mult, shift = requant_params(rng, cin * dm)
    ours = dw_k.depthwise_conv2d_s8(x, w, bias, mult, shift, dm, *geometry_args(g))
    expected = oracle_depthwise(x, w, bias, mult, shift, g)
    assert ours.dtype == np.int8 and ours.shape == expected.shape
    assert ours.tobytes() == expected.tobytes(), g


@pytest.mark.parametrize("seed", range(N_CASES))
def test_fully_connected_equals_oracle(seed: int) -> None:
    rng = np.random.default_rng(20_000 + seed)
    g = output_params(rng)
    rows, depth, units = int(rng.integers(1, 6)), channels(rng, 700), channels(rng, 70)
    x = int8s(rng, (rows, depth))
    w = int8s(rng, (units, depth))
    bias = rng.integers(-(1 << 24), 1 << 24, units).astype(np.int32)
    mult, shift = requant_params(rng, units)
    ours = fc_k.fully_connected_s8(x, w, bias, mult, shift, g["out_zp"], g["act_min"], g["act_max"])
    expected = oracle_fc(x, w, bias, mult, shift, g)
    assert ours.tobytes() == expected.tobytes(), g


def test_kernels_accept_read_only_arrays() -> None:
    """Constants may be read-only views of the model file."""
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, 4, 4, 3), dtype=np.int8)
    w = rng.integers(-128, 128, (2, 3, 3, 3), dtype=np.int8)
    ones, zeros = np.ones(2, np.int32), np.zeros(2, np.int32)
    for a in (x, w, ones, zeros):
        a.flags.writeable = False
    out = conv_k.conv2d_s8(x, w, zeros, ones, zeros, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, -128, 127)
    assert out.shape == (1, 4, 4, 2)


def test_kernels_reject_bad_shapes() -> None:
    x = np.zeros((1, 4, 4, 3), np.int8)
    ones = np.ones(2, np.int32)
    geo = (1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127)
    with pytest.raises(ValueError, match="input channels"):
        conv_k.conv2d_s8(x, np.zeros((2, 3, 3, 4), np.int8), ones, ones, ones, *geo)
    with pytest.raises(ValueError, match="does not fit"):
        conv_k.conv2d_s8(x, np.zeros((2, 5, 5, 3), np.int8), ones, ones, ones, *geo)
    with pytest.raises(ValueError, match="multiplier"):
        dw_k.depthwise_conv2d_s8(x, np.zeros((3, 3, 4), np.int8), ones, ones, ones, 1, *geo)
    with pytest.raises(ValueError, match="input rows"):
        fc_k.fully_connected_s8(np.zeros((2, 5), np.int8), np.zeros((2, 4), np.int8), ones, ones, ones,
                                0, -128, 127)


# --- the op modules' run_s8 call the kernels with the lowered Step's arrays ---


def test_run_s8_wiring_conv_depthwise_fc() -> None:
    rng = np.random.default_rng(5)
    g = {"stride": (2, 1), "dilation": (1, 2), "pads": (1, 2, 0, 1)} | output_params(rng)
    geo = {"k_h": 3, "k_w": 2, "stride_h": 2, "stride_w": 1, "dil_h": 1, "dil_w": 2,
           "pad_top": 1, "pad_left": 2, "pad_bottom": 0, "pad_right": 1}
    geo |= {k: g[k] for k in ("in_zp", "out_zp", "act_min", "act_max")}
    x = rng.integers(-128, 128, (4, 1, 7, 6, 3), dtype=np.int8)  # runtime batch axis on top of the IR's N=1
    w = rng.integers(-127, 128, (5, 3, 2, 3), dtype=np.int8)
    bias = rng.integers(-1000, 1000, 5).astype(np.int32)
    mult, shift = requant_params(rng, 5)
    consts = {"weights": w, "bias": bias, "mult": mult, "shift": shift}
    out = KERNELS["conv2d_s8"](Step("conv2d_s8", "n", ["x"], ["y"], dict(geo), consts), [x])[0]
    assert out.tobytes() == oracle_conv2d(x[:, 0], w, bias, mult, shift, g).tobytes()
    assert out.shape[:2] == (4, 1)

    wd = rng.integers(-127, 128, (3, 2, 6), dtype=np.int8)
    bias6 = rng.integers(-1000, 1000, 6).astype(np.int32)
    mult6, shift6 = requant_params(rng, 6)
    consts = {"weights": wd, "bias": bias6, "mult": mult6, "shift": shift6}
    step = Step("depthwise_conv2d_s8", "n", ["x"], ["y"], geo | {"depth_multiplier": 2}, consts)
    out = KERNELS["depthwise_conv2d_s8"](step, [x])[0]
    expected = oracle_depthwise(x[:, 0], wd, bias6, mult6, shift6, g | {"depth_multiplier": 2})
    assert out.tobytes() == expected.tobytes()

    xf = rng.integers(-128, 128, (4, 2, 9), dtype=np.int8)  # two rows of 9 per sample
    wf = rng.integers(-127, 128, (6, 9), dtype=np.int8)
    params = {"depth": 9, "units": 6, "rows": 2, "out_shape": (2, 6)} | output_params(rng)
    consts = {"weights": wf, "bias": bias6, "mult": mult6, "shift": shift6}
    step = Step("fully_connected_s8", "n", ["x"], ["y"], params, consts)
    out = KERNELS["fully_connected_s8"](step, [xf])[0]
    assert out.shape == (4, 2, 6)
    assert out.tobytes() == oracle_fc(xf.reshape(8, 9), wf, bias6, mult6, shift6, params).tobytes()


# --- element-wise add ---


def oracle_add(a, b, p) -> np.ndarray:
    sa = multiply_by_quantized_multiplier((a.astype(np.int64) - p["a_zp"]) << 20, p["a_mult"], p["a_shift"])
    sb = multiply_by_quantized_multiplier((b.astype(np.int64) - p["b_zp"]) << 20, p["b_mult"], p["b_shift"])
    out = multiply_by_quantized_multiplier(sa + sb, p["out_mult"], p["out_shift"]) + p["out_zp"]
    return np.clip(out, p["act_min"], p["act_max"]).astype(np.int8)


@pytest.mark.parametrize("seed", range(40))
def test_add_equals_oracle(seed: int) -> None:
    rng = np.random.default_rng(30_000 + seed)
    size, reps = int(rng.integers(1, 300)), int(rng.integers(1, 5))
    a = int8s(rng, (reps * size,))
    b = int8s(rng, (size,) if rng.random() < 0.5 else (reps * size,))
    o = output_params(rng)
    p = {"a_zp": int(rng.integers(-128, 128)), "b_zp": int(rng.integers(-128, 128)), "out_zp": o["out_zp"],
         "act_min": o["act_min"], "act_max": o["act_max"]}
    for key in ("a", "b", "out"):
        p[f"{key}_mult"] = int(rng.integers(1 << 30, 1 << 31))
        p[f"{key}_shift"] = int(rng.integers(-31, 1)) if key == "out" else int(rng.integers(-6, 1))
    ours = add_k.add_s8(a, b, p["a_zp"], p["b_zp"], p["a_mult"], p["a_shift"], p["b_mult"], p["b_shift"],
                        p["out_mult"], p["out_shift"], p["out_zp"], p["act_min"], p["act_max"])
    assert ours.tobytes() == oracle_add(a, np.tile(b, len(a) // len(b)), p).tobytes()


# --- MultiplyByQuantizedMultiplier against plain Python integers ---


def c_div(a: int, b: int) -> int:
    """C's integer division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def py_srdhm(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return c_div(ab + nudge, 1 << 31)


def py_rounding_divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def py_mbqm(x: int, mult: int, shift: int) -> int:
    left, right = max(shift, 0), max(-shift, 0)
    return py_rounding_divide_by_pot(py_srdhm(wrap32(x * (1 << left)), mult), right)


EDGE_X = [INT32_MIN, INT32_MIN + 1, -(2**30), -65536, -257, -256, -255, -129, -128, -127, -3, -2, -1, 0, 1,
          2, 3, 127, 128, 255, 256, 257, 65535, 2**30, INT32_MAX - 1, INT32_MAX]
EDGE_MULT = [INT32_MIN, INT32_MIN + 1, -(2**30), -1, 0, 1, 2**30, 2**30 + 1, 1518500250, INT32_MAX - 1,
             INT32_MAX]


def as_i32(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int32)


def test_srdhm_edge_cases() -> None:
    pairs = [(a, b) for a in EDGE_X for b in EDGE_MULT]
    a, b = as_i32([p[0] for p in pairs]), as_i32([p[1] for p in pairs])
    expected = [py_srdhm(x, y) for x, y in pairs]
    assert rq_k.saturating_rounding_doubling_high_mul(a, b).tolist() == expected
    assert py_srdhm(INT32_MIN, INT32_MIN) == INT32_MAX


def test_rounding_divide_by_pot_ties_and_signs() -> None:
    cases = [(x, e) for e in range(32) for x in EDGE_X]
    # exact ties: +-(2k+1) * 2**(e-1) round away from zero
    cases += [(s * (2 * k + 1) << (e - 1), e) for e in range(1, 20) for k in range(4) for s in (1, -1)]
    cases += [(s * ((2 * k + 1 << (e - 1)) + d), e) for e in range(2, 20) for k in range(3) for s in (1, -1)
              for d in (-1, 1)]
    x, e = as_i32([c[0] for c in cases]), as_i32([c[1] for c in cases])
    expected = [py_rounding_divide_by_pot(a, b) for a, b in cases]
    assert rq_k.rounding_divide_by_pot(x, e).tolist() == expected
    # ties away from zero
    assert py_rounding_divide_by_pot(5, 1) == 3 and py_rounding_divide_by_pot(-5, 1) == -3
    assert py_rounding_divide_by_pot(-6, 2) == -2 and py_rounding_divide_by_pot(6, 2) == 2


def test_multiply_by_quantized_multiplier_edge_cases() -> None:
    shifts = (-31, -30, -17, -8, -1, 0, 1, 2, 7, 10, 31)
    cases = [(x, m, s) for x in EDGE_X for m in EDGE_MULT for s in shifts]
    x, m, s = (as_i32([c[i] for c in cases]) for i in range(3))
    expected = [py_mbqm(*c) for c in cases]
    assert rq_k.multiply_by_quantized_multiplier(x, m, s).tolist() == expected
    # the NumPy version the rest of the runtime uses agrees too
    assert multiply_by_quantized_multiplier(x, m, s).tolist() == expected


def test_multiply_by_quantized_multiplier_random() -> None:
    rng = np.random.default_rng(42)
    n = 20_000
    x = rng.integers(INT32_MIN, INT32_MAX, n, endpoint=True).astype(np.int32)
    x[: n // 2] >>= rng.integers(0, 31, n // 2).astype(np.int32)  # many small magnitudes too
    m = rng.integers(0, INT32_MAX, n, endpoint=True).astype(np.int32)
    s = rng.integers(-31, 11, n).astype(np.int32)
    expected = [py_mbqm(int(a), int(b), int(c)) for a, b, c in zip(x, m, s, strict=True)]
    assert rq_k.multiply_by_quantized_multiplier(x, m, s).tolist() == expected


def test_requantize_channels_clamps_per_channel() -> None:
    rng = np.random.default_rng(3)
    acc = rng.integers(-(1 << 22), 1 << 22, (50, 7)).astype(np.int32)
    acc[0] = [INT32_MIN, INT32_MAX, 0, -1, 1, INT32_MIN + 1, INT32_MAX - 1]
    mult, shift = requant_params(rng, 7)
    ours = rq_k.requantize_channels(acc, mult, shift, -5, -100, 90)
    assert ours.tobytes() == requantize(acc, mult, shift, -5, -100, 90).tobytes()


def test_requantize_rejects_out_of_range_shifts() -> None:
    one = as_i32([1])
    with pytest.raises(ValueError, match="shift"):
        rq_k.multiply_by_quantized_multiplier(one, one, as_i32([32]))
    with pytest.raises(ValueError, match="exponent"):
        rq_k.rounding_divide_by_pot(one, as_i32([-1]))
