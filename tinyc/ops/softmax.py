"""Softmax over the last axis, as TFLM's kernels (softmax_common.cc):

- int8 -> int8 (output scale 1/256, zero point -128) and int8 -> int16 (scale 1/65536, zero point -32768):
  reference_ops::Softmax, gemmlowp fixed-point exp in Q5.26, sums in Q12.19, a fixed-point reciprocal.
- int16 -> int16 (scale 1/32768, zero point 0): reference_ops::SoftmaxInt16, an exp table over [-10, 0] and a
  1 / (1 + x) table over [0, 1] (513 entries each, filled at compile time as TFLM's Prepare fills them), linearly
  interpolated.
- float32: max, exp((x - max) * beta) summed in order, each exp / sum, with tinyc's expf (TFLM calls libm).
"""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Graph, Node, Quant
from tinyc.lower.plan import Step
from tinyc.numerics import (
    calculate_input_radius,
    exp_on_negative_values,
    get_reciprocal,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rescale,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import quant
from tinyc.ops._float import QUIET, running_max, running_sum
from tinyc.ops._mathf import expf

SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12
# output dtype -> (zero point, scale) TFLM requires of a quantized softmax output
OUTPUT_QUANT = {("int8", "int8"): (-128, 1 / 256), ("int8", "int16"): (-32768, 1 / 65536),
                ("int16", "int16"): (0, 1 / 32768)}
EXP_CACHE_MAX = 64  # int8 rows up to this long keep their exps in scratch (256 bytes) instead of computing each twice
LUT_STEPS = 512  # an int16 table: 512 intervals and one entry more to interpolate the last


def exp_terms(step: Step, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The int8 kernels' first steps: (difference from the row maximum, its exp in Q0.31, whether it counts)."""
    p = step.params
    diff = x.astype(np.int64) - x.max(axis=-1, keepdims=True)
    rescaled = saturating_rounding_doubling_high_mul(wrap_int32(diff << p["input_left_shift"]), p["input_multiplier"])
    return diff, exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS), diff >= p["diff_min"]


def sum_in_order(terms: np.ndarray) -> np.ndarray:
    """int32 accumulation along the last axis in order, as the C does."""
    sums = np.zeros(terms.shape[:-1] + (1,), np.int64)
    for c in range(terms.shape[-1]):
        sums = wrap_int32(sums + terms[..., c:c + 1])
    return sums


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """reference_ops::Softmax<int8_t, OutputT>: the output zero point is the output type's minimum."""
    bits = int(step.params["out_bits"])
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    _, exps, valid = exp_terms(step, inputs[0])
    sums = sum_in_order(np.where(valid, rescale(exps, 0, ACCUMULATION_INTEGER_BITS), 0))
    scale, bits_over_unit = get_reciprocal(sums, ACCUMULATION_INTEGER_BITS)
    out = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scale, exps), bits_over_unit + 31 - bits) + lo
    return [np.where(valid, np.clip(out, lo, hi), lo).astype(np.int8 if bits == 8 else np.int16)]


def lut_lookup(value: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """TFLM's int16 LUTLookup: the entry at the top 9 bits, interpolated by the low 7 (int16 wraps as C's casts)."""
    value = np.asarray(value, np.int64)
    index = 256 + (value >> 7)
    base, nxt = lut[index].astype(np.int64), lut[index + 1].astype(np.int64)
    slope = wrap_int16(nxt - base)
    return wrap_int16(base + ((slope * (value & 0x7F) + 64) >> 7))


def wrap_int16(x: np.ndarray) -> np.ndarray:
    return ((np.asarray(x, np.int64) + 32768) & 0xFFFF) - 32768


def run_s16(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """reference_ops::SoftmaxInt16."""
    p = step.params
    x = inputs[0].astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    scaled = wrap_int32(multiply_by_quantized_multiplier(diff, p["input_multiplier"], p["input_left_shift"]) + 32767)
    exps = lut_lookup(np.clip(scaled, -32768, 32767), step.consts["exp_lut"])
    sums = sum_in_order(exps)
    headroom_plus_one = 32 - np.vectorize(lambda v: int(v).bit_length())(sums & 0xFFFFFFFF)
    shifted = ((sums << (headroom_plus_one - 1)) + (1 << 13)) >> 14
    recip = lut_lookup(np.clip(shifted - (1 << 15) - (1 << 16), -32768, 32767), step.consts["one_over_one_plus_x_lut"])
    right = 31 - headroom_plus_one
    out = (exps * recip + (np.int64(1) << (right - 1))) >> right
    return [np.clip(out, 0, 32767).astype(np.int16)]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """As softmax_f32.c.j2, in float32: the row's running max from x[0], tinyc_expf((x - max) * beta), summed in
    order, then each exp / the sum (an infinite input gives inf - inf = NaN in the row, as in the C)."""
    x = np.asarray(inputs[0], np.float32)
    cols = [x[..., c] for c in range(x.shape[-1])]
    with np.errstate(**QUIET):
        e = expf((x - running_max(cols[1:], cols[0])[..., None]) * np.float32(step.params["beta"]))
        total = running_sum([e[..., c] for c in range(x.shape[-1])])
        return [(e / total[..., None]).astype(np.float32)]


def _round_f32(v: np.ndarray) -> np.ndarray:
    """TfLiteRound (std::round) on float32 values: halves away from zero."""
    v = np.asarray(v, np.float32).astype(np.float64)  # |v| + 0.5 is exact in float64
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.float32)


def gen_lut(func, input_min: float, input_max: float) -> np.ndarray:  # noqa: ANN001
    """TFLM's gen_lut<float, int16_t, int16_t>(func, input_min, input_max, -1, 1): every step in float32, the
    sample at each step less half the error of interpolating its midpoint, then the value at input_max."""
    f = np.float32
    lo, hi = f(input_min), f(input_max)
    step = f((hi - lo) / f(LUT_STEPS))
    i = np.arange(LUT_STEPS, dtype=np.float32)
    x = (lo + i * step).astype(f)
    val = func(x)
    mid = func((x + step / f(2)).astype(f))
    nxt = func((lo + (i + f(1)) * step).astype(f))
    scaling = f(65536.0) / f(2.0)
    sample = _round_f32(val * scaling)
    interp = _round_f32((nxt * scaling + sample) / f(2))
    bias = _round_f32((interp - _round_f32(mid * scaling)) / f(2))
    last = _round_f32(func(np.array([hi], f)) * scaling)
    return np.clip(np.concatenate([sample - bias, last]), -32768, 32767).astype(np.int16)


def exp_f32(x: np.ndarray) -> np.ndarray:
    """std::exp on float32: the correctly rounded value (glibc's expf is, to within its 0.502 ulp)."""
    return np.exp(np.asarray(x, np.float64)).astype(np.float32)


def one_over_one_plus_x_f32(x: np.ndarray) -> np.ndarray:
    return (np.float32(1.0) / (np.float32(1.0) + np.asarray(x, np.float32))).astype(np.float32)


EXP_LUT = gen_lut(exp_f32, -10.0, 0.0)
ONE_OVER_ONE_PLUS_X_LUT = gen_lut(one_over_one_plus_x_f32, 0.0, 1.0)


def input_scaling(beta: float, s_in: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling then CalculateInputRadius (TFLM's int8 Prepare): multiplier, left shift,
    diff_min."""
    real = min(beta * s_in * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    return multiplier, left_shift, -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift)


def check_output_quant(q: Quant, pair: tuple[str, str], node: Node) -> None:
    zp, scale = OUTPUT_QUANT[pair]
    exact = pair == ("int8", "int8")  # TFLM: scale == 1/256 exactly there, within 0.1 % for int16 outputs
    ok = q.zp == zp and (abs(q.s - scale) < 1e-9 if exact else abs(q.s - scale) <= 0.001 * scale)
    expect(ok, node, f"{pair[0]} -> {pair[1]} softmax output must have scale 1/{round(1 / scale)}, zero point {zp} "
                     f"(TFLM), got scale {q.s:g}, zero point {q.zp}")


@register
class Softmax(OpDef):
    name = "softmax"
    tflite = ("SOFTMAX",)
    kernels = {"softmax_s8": run_s8, "softmax_s16": run_s16, "softmax_f32": run_f32}
    dtypes = frozenset({("float32", "float32"), *OUTPUT_QUANT})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        expect(len(x.shape) >= 1, node, "softmax needs an input of rank 1 or more")
        beta = node.attrs.get("beta", 1.0)
        expect(isinstance(beta, float | int) and math.isfinite(beta) and beta > 0, node,
               f"beta {beta} is not a positive finite number")
        pair = (x.dtype, y.dtype)
        if pair in OUTPUT_QUANT:
            quant(graph, x.name, node)
            check_output_quant(quant(graph, y.name, node), pair, node)
            if x.dtype == "int16":
                expect(x.shape[-1] < 1 << 16, node, "int16 softmax rows of 65536 values or more overflow TFLM's sum")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        beta = float(node.attrs.get("beta", 1.0))
        params: dict = {"depth": x.shape[-1], "rows": x.size // x.shape[-1], "beta": beta}
        if x.dtype == "float32":
            return Step("softmax_f32", node.name, [x.name], [y.name], params)
        s_in = quant(graph, x.name, node).s
        if x.dtype == "int16":
            # the difference rescaled so that [-65535, 0] is [-10, 0] (QuantizeMultiplier of a double)
            real = float(np.float32(s_in)) * float(np.float32(beta)) / (10.0 / 65535.0)
            multiplier, shift = quantize_multiplier(real)
            params |= {"input_multiplier": multiplier, "input_left_shift": shift}
            consts = {"exp_lut": EXP_LUT, "one_over_one_plus_x_lut": ONE_OVER_ONE_PLUS_X_LUT}
            return Step("softmax_s16", node.name, [x.name], [y.name], params, consts)
        multiplier, left_shift, diff_min = input_scaling(beta, s_in)
        params |= {"input_multiplier": multiplier, "input_left_shift": left_shift, "diff_min": diff_min,
                   "out_bits": 16 if y.dtype == "int16" else 8}
        # the C keeps a short row's exps from the sum pass for the output pass (scratch in the arena)
        scratch = 4 * params["depth"] if params["depth"] <= EXP_CACHE_MAX else 0
        return Step("softmax_s8", node.name, [x.name], [y.name], params, scratch=scratch)
