"""LOG_SOFTMAX over the last axis, as TFLM's kernels (log_softmax.cc):

- int8 (output scale 16/256, zero point 127, beta 1): reference_ops::LogSoftmaxQuantized. Differences from the row
  maximum rescaled to Q5.26, gemmlowp's exp summed in Q12.19, TFLite's fixed-point log of the sum back in Q5.26,
  each difference less that log, rounded to Q4 steps; values below the reach of Q5.26 give -128.
- float32: the row maximum (from -FLT_MAX), exp(x - max) summed in order from 0, out = x - max - log(sum), with
  tinyc's expf and logf where TFLM calls libm's.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import (
    INT32_MAX,
    INT32_MIN,
    exp_on_negative_values,
    multiply_by_quantized_multiplier,
    one_over_one_plus_x_for_x_in_0_1,
    quantize_multiplier,
    rescale,
    rounding_divide_by_pot,
    wrap_int32,
)
from tinyc.numerics import saturating_rounding_doubling_high_mul as srdhm
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import quant
from tinyc.ops._float import QUIET, running_max, running_sum
from tinyc.ops._gemmlowp import clz32
from tinyc.ops._mathf import expf, logf
from tinyc.ops.softmax import input_scaling, sum_in_order

INPUT_BITS, ACCUMULATION_BITS, OUTPUT_BITS = 5, 12, 4
OUTPUT_SCALE, OUTPUT_ZP = 16 / 256, 127
MAX_DEPTH = 4095  # 4096 exp(0) terms of 2**19 each overflow TFLM's Q12.19 sum
FLT_LOWEST = float(-np.finfo(np.float32).max)


def mul_by_pot_param(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOTParam for 0 <= exponent < 31: a saturating left shift."""
    x, exponent = np.asarray(x, np.int64), np.asarray(exponent, np.int64)
    threshold = (np.int64(1) << (31 - exponent)) - 1
    out = wrap_int32(x << exponent)
    out = np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, out))
    return np.where(exponent == 0, x, out)


def _saturate(v: np.ndarray) -> np.ndarray:
    return np.clip(v, INT32_MIN, INT32_MAX)


def log_x_ge_1(x: np.ndarray, input_bits: int, output_bits: int) -> np.ndarray:
    """TFLite's log_x_for_x_greater_than_or_equal_to_1<output_bits>(Q(input_bits) value): log(x) in
    Q(output_bits), as gemmlowp fixed point (`*` is SaturatingRoundingDoublingHighMul, `+` wraps)."""
    log_2, sqrt_sqrt_half, sqrt_half, one_quarter = 1488522236, 1805811301, 1518500250, 536870912
    alpha_n, alpha_d, alpha_i, alpha_f = 117049297, 127690142, 1057819769, 638450708
    accum_bits = output_bits + 1
    shifted_quarter = rescale(np.int64(one_quarter), 0, accum_bits)
    z_a = np.asarray(x, np.int64)
    z_a_headroom_plus_1 = clz32(z_a)
    r_a_tmp = mul_by_pot_param(z_a, z_a_headroom_plus_1 - 1)
    r_a_raw = mul_by_pot_param(srdhm(r_a_tmp, sqrt_half), 1)
    z_a_pow_2_adj = _saturate(mul_by_pot_param(input_bits - z_a_headroom_plus_1, 31 - accum_bits) + shifted_quarter)
    z_b = srdhm(z_a, sqrt_half)
    z_b_headroom = clz32(z_b) - 1
    r_b_raw = mul_by_pot_param(z_a, z_b_headroom)
    z_b_pow_2_adj = _saturate(mul_by_pot_param(input_bits - z_b_headroom, 31 - accum_bits) - shifted_quarter)
    r = np.minimum(r_a_raw, r_b_raw)
    z_pow_2_adj = np.maximum(z_a_pow_2_adj, z_b_pow_2_adj)
    s = r + sqrt_sqrt_half  # RoundingHalfSum with C's truncating division
    p = np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2))
    q = wrap_int32(r - sqrt_sqrt_half)
    q = wrap_int32(q + q)
    common_sq = srdhm(q, q)
    num = wrap_int32(srdhm(q, r) + srdhm(srdhm(q, common_sq), alpha_n))
    denom_minus_one = wrap_int32(srdhm(p, wrap_int32(wrap_int32(alpha_i + q) + srdhm(alpha_d, common_sq)))
                                 + srdhm(alpha_f, q))
    recip_denom = one_over_one_plus_x_for_x_in_0_1(denom_minus_one)
    num_scaled = rescale(num, 0, accum_bits)
    return rescale(wrap_int32(srdhm(z_pow_2_adj, log_2) + srdhm(num_scaled, recip_denom)), accum_bits, output_bits)


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x = inputs[0].astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    valid = diff >= p["diff_min"]
    in_q5 = multiply_by_quantized_multiplier(diff, p["input_multiplier"], p["input_left_shift"])
    exps = rescale(exp_on_negative_values(np.where(valid, in_q5, 0), INPUT_BITS), 0, ACCUMULATION_BITS)
    log_sum = log_x_ge_1(sum_in_order(np.where(valid, exps, 0)), ACCUMULATION_BITS, INPUT_BITS)
    reach = multiply_by_quantized_multiplier(wrap_int32(log_sum + INT32_MIN), p["reverse_scaling_divisor"],
                                             p["reverse_scaling_left_shift"])
    adjusted_diff_min = np.maximum(p["diff_min"] - 1, reach)
    out = rounding_divide_by_pot(wrap_int32(in_q5 - log_sum), 31 - INPUT_BITS - OUTPUT_BITS) + 127
    return [np.where(diff > adjusted_diff_min, np.clip(out, -128, 127), -128).astype(np.int8)]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """As log_softmax_f32.c.j2, in float32 (an infinite input gives inf - inf = NaN in the row, as TFLM's)."""
    x = np.asarray(inputs[0], np.float32)
    cols = [x[..., c] for c in range(x.shape[-1])]
    with np.errstate(**QUIET):
        top = running_max(cols, np.full(x.shape[:-1], FLT_LOWEST, np.float32))[..., None]
        shifted = (x - top).astype(np.float32)
        total = running_sum([expf(shifted[..., c]) for c in range(x.shape[-1])])
        return [(shifted - logf(total)[..., None]).astype(np.float32)]


def reverse_scaling(input_multiplier: int, input_left_shift: int) -> tuple[int, int]:
    """PreprocessLogSoftmaxScalingExp's second half: the inverse of the input scaling (multiplier, shift <= 0)."""
    return quantize_multiplier((1 << (31 - input_left_shift)) / float(input_multiplier))


@register
class LogSoftmax(OpDef):
    name = "log_softmax"
    tflite = ("LOG_SOFTMAX",)
    kernels = {"log_softmax_s8": run_s8, "log_softmax_f32": run_f32}

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        expect(len(x.shape) >= 1, node, "log_softmax needs an input of rank 1 or more")
        if x.dtype != "int8":
            return
        expect(x.shape[-1] <= MAX_DEPTH, node, f"int8 rows of more than {MAX_DEPTH} values overflow TFLM's sum")
        qi, qo = quant(graph, x.name, node), quant(graph, y.name, node)
        expect(qo.zp == OUTPUT_ZP and float(np.float32(qo.s)) == OUTPUT_SCALE, node,
               f"int8 output must have scale 16/256, zero point 127 (TFLM), got scale {qo.s:g}, zero point {qo.zp}")
        expect(qi.s * (1 << (31 - INPUT_BITS)) >= 1.0, node,
               f"input scale {qi.s:g} is below 2**-26, which TFLM's scaling refuses")
        multiplier, left_shift, _ = input_scaling(1.0, float(np.float32(qi.s)))
        expect(reverse_scaling(multiplier, left_shift)[1] <= 0, node,
               f"input scale {qi.s:g} makes TFLM's reverse scaling a multiplier above 1, which it refuses")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        params: dict = {"depth": x.shape[-1], "rows": x.size // x.shape[-1]}
        if x.dtype == "float32":
            return Step("log_softmax_f32", node.name, [x.name], [y.name], params)
        multiplier, left_shift, diff_min = input_scaling(1.0, float(np.float32(quant(graph, x.name, node).s)))
        reverse, reverse_shift = reverse_scaling(multiplier, left_shift)
        params |= {"input_multiplier": multiplier, "input_left_shift": left_shift, "diff_min": diff_min,
                   "reverse_scaling_divisor": reverse, "reverse_scaling_left_shift": reverse_shift}
        return Step("log_softmax_s8", node.name, [x.name], [y.name], params)
