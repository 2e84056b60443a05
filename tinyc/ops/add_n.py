"""ADD_N: out = 0 + in_0 + in_1 + ..., element by element in input order as TFLM's AddN. float32 plainly (so -0.0 +
-0.0 gives +0.0, as there); int8 as TFLM's quantized AddN, whose sums CUMSUM's int8 path shares:
every input less the zero point, shifted left 20 and halved (its multiplier is 0.5: all inputs share one scale),
summed in int32 from the same rescaling of -zero_point (TFLM's accumulator starts there, not at 0), requantized by
2 * scale / (2**20 * output scale). TFLM has no int32 ADD_N."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier_smaller_than_one
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import quant

LEFT_SHIFT = 20  # TFLM's kAddNIntegerShift / kCumSumIntegerShift
FLOAT_OR_INT8 = frozenset({("float32", "float32"), ("int8", "int8")})


def quantized_sum_params(graph: Graph, node: Node, x_name: str, y_name: str, terms: int) -> dict:
    """TFLM's Prepare of the int8 sum of `terms` inputs (multipliers from double), refusing what TFLM aborts on
    and sums that could overflow the int32 accumulator."""
    qx, qy = quant(graph, x_name, node), quant(graph, y_name, node)
    expect(qx.scale.size == 1 and qy.scale.size == 1, node, "int8 tensors must be quantized per tensor")
    twice = 2.0 * float(np.float64(qx.s))
    out_real = twice / ((1 << LEFT_SHIFT) * float(np.float64(qy.s)))
    expect(out_real < 1.0, node, f"output multiplier {out_real:g} is not below 1 (TFLM requires it)")
    zp = int(qx.zp)
    bound = (abs(zp) + terms * max(127 - zp, zp + 128)) << (LEFT_SHIFT - 1)
    expect(bound < 2**31, node, f"a sum of {terms} int8 terms could overflow TFLM's int32 accumulator")
    m_in, s_in = quantize_multiplier_smaller_than_one(float(np.float64(qx.s)) / twice)
    m_out, s_out = quantize_multiplier_smaller_than_one(out_real)
    init = int(mbqm(np.int64(-zp * (1 << LEFT_SHIFT)), m_in, s_in))
    return {"in_zp": zp, "out_zp": int(qy.zp), "m_in": m_in, "s_in": s_in, "m_out": m_out, "s_out": s_out,
            "left_shift": LEFT_SHIFT, "init": init}


def sum_term(x: np.ndarray, p: dict) -> np.ndarray:
    """One int8 input as a term of the int32 sum."""
    return mbqm((x.astype(np.int64) - p["in_zp"]) * (1 << p["left_shift"]), p["m_in"], p["s_in"])


def sum_output(acc: np.ndarray, p: dict) -> np.ndarray:
    return np.clip(mbqm(acc, p["m_out"], p["s_out"]) + p["out_zp"], -128, 127).astype(np.int8)


def run_add_n(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    if p["dtype"] == "int8":
        acc = np.full(inputs[0].shape, p["init"], np.int64)
        for x in inputs:
            acc = acc + sum_term(x, p)
        return [sum_output(acc, p)]
    acc = np.zeros(inputs[0].shape, np.float32)
    for x in inputs:
        acc = acc + x
    return [acc]


@register
class AddN(OpDef):
    name = "add_n"
    tflite = ("ADD_N",)
    arity = (2, 64)  # TFLM takes two or more
    dtypes = FLOAT_OR_INT8
    kernels = {"add_n": run_add_n}

    def check(self, node: Node, graph: Graph) -> None:
        y = graph.tensor(node.outputs[0])
        first = graph.tensor(node.inputs[0])
        for name in node.inputs:
            t = graph.tensor(name)
            expect(t.shape == y.shape and t.dtype == y.dtype and not t.is_const, node,
                   f"input '{name}' is not an activation of the output's shape and dtype")
            if y.dtype == "int8":
                qa, qb = quant(graph, first.name, node), quant(graph, name, node)
                expect(qa.s == qb.s and qa.zp == qb.zp, node, "int8 inputs must share one quantization (TFLM)")
        if y.dtype == "int8":
            quantized_sum_params(graph, node, first.name, y.name, len(node.inputs))

    def lower(self, node: Node, graph: Graph) -> Step:
        y = graph.tensor(node.outputs[0])
        params = {"size": y.size, "n": len(node.inputs), "dtype": y.dtype}
        if y.dtype == "int8":
            params |= quantized_sum_params(graph, node, node.inputs[0], y.name, len(node.inputs))
        return Step("add_n", node.name, list(node.inputs), [y.name], params)
