"""Softmax over the last axis. int8 -> int8 (output scale 1/256, zero point -128) as TFLM's reference
Softmax: gemmlowp fixed-point exp in Q5.26, sums in Q12.19, a fixed-point reciprocal."""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import (
    calculate_input_radius,
    exp_on_negative_values,
    get_reciprocal,
    quantize_multiplier,
    rescale,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import is_int8, quant
from tinyc.ops._float import QUIET, running_max, running_sum
from tinyc.ops._mathf import expf

SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x = inputs[0].astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    rescaled = saturating_rounding_doubling_high_mul(wrap_int32(diff << p["input_left_shift"]), p["input_multiplier"])
    exps = exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
    valid = diff >= p["diff_min"]
    terms = np.where(valid, rescale(exps, 0, ACCUMULATION_INTEGER_BITS), 0)
    sums = np.zeros(x.shape[:-1] + (1,), np.int64)
    for c in range(x.shape[-1]):  # int32 accumulation in order, as the C does
        sums = wrap_int32(sums + terms[..., c:c + 1])
    scale, bits_over_unit = get_reciprocal(sums, ACCUMULATION_INTEGER_BITS)
    exponent = bits_over_unit + 31 - 8
    out = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scale, exps), exponent) - 128
    return [np.where(valid, np.clip(out, -128, 127), -128).astype(np.int8)]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """As softmax_f32.c.j2, in float32: the row's running max from x[0], tinyc_expf((x - max) * beta), summed in
    order, then each exp / the sum (an infinite input gives inf - inf = NaN in the row, as in the C)."""
    x = np.asarray(inputs[0], np.float32)
    cols = [x[..., c] for c in range(x.shape[-1])]
    with np.errstate(**QUIET):
        e = expf((x - running_max(cols[1:], cols[0])[..., None]) * np.float32(step.params["beta"]))
        total = running_sum([e[..., c] for c in range(x.shape[-1])])
        return [(e / total[..., None]).astype(np.float32)]


@register
class Softmax(OpDef):
    name = "softmax"
    kernels = {"softmax_s8": run_s8, "softmax_f32": run_f32}

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        beta = node.attrs.get("beta", 1.0)
        expect(isinstance(beta, float | int) and math.isfinite(beta) and beta > 0, node,
               f"beta {beta} is not a positive finite number")
        if is_int8(graph, node):
            quant(graph, x.name, node)
            q = quant(graph, y.name, node)
            expect(q.zp == -128 and abs(q.s - 1 / 256) < 1e-9, node,
                   "int8 softmax output must have scale 1/256, zero point -128")

    def lower(self, node: Node, graph: Graph) -> Step:
        x = graph.tensor(node.inputs[0])
        beta = float(node.attrs.get("beta", 1.0))
        params: dict = {"depth": x.shape[-1], "rows": x.size // x.shape[-1], "beta": beta}
        if not is_int8(graph, node):
            return Step("softmax_f32", node.name, [x.name], [node.outputs[0]], params)
        # PreprocessSoftmaxScaling then CalculateInputRadius, as TFLM's CalculateSoftmaxParams
        s_in = quant(graph, x.name, node).s
        real = min(beta * s_in * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
        multiplier, left_shift = quantize_multiplier(real)
        diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift)
        params |= {"input_multiplier": multiplier, "input_left_shift": left_shift, "diff_min": diff_min}
        return Step("softmax_s8", node.name, [x.name], [node.outputs[0]], params)
