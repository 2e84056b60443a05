"""QUANTIZE as TFLM's kernel (quantize_common.cc): float32 -> int8 / int16 by reference_ops::AffineQuantize,
and integer -> integer by reference_ops::Requantize (int8, int16, int32, and uint8 to or from int8: the model
boundary where TFLM accepts uint8).

AffineQuantize is round(x / scale) + zero point, clamped, with the division in float32 and std::round
(halves away from zero). Where TFLM's cast of the rounded float to int32 is undefined (|x / scale| >= 2**31,
NaN) tinyc saturates and takes NaN as 0, as the Cortex-M's conversion does; the result is clamped to the
output type either way.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import quant

INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-(2**31), 2**31 - 1)}
AFFINE = frozenset({("float32", "int8"), ("float32", "int16")})
REQUANTIZE = frozenset({("int8", "int8"), ("int8", "uint8"), ("uint8", "int8"), ("int8", "int16"), ("int8", "int32"),
                        ("int16", "int8"), ("int16", "int16"), ("int16", "int32"), ("int32", "int8"),
                        ("int32", "int16")})
ROUND_LIMIT = float(2**24)  # |x / scale| beyond this clamps to the output range for any zero point in it


def round_half_away_f32(q: np.ndarray) -> np.ndarray:
    """std::round of float32 values as int64, saturated at +-2**24 (NaN -> 0), exactly as the C template."""
    v = np.clip(np.nan_to_num(q.astype(np.float64), nan=0.0), -ROUND_LIMIT, ROUND_LIMIT)
    t = np.trunc(v)
    return (t + (v - t >= 0.5) - (v - t <= -0.5)).astype(np.int64)


def run_affine(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    with np.errstate(over="ignore", invalid="ignore"):
        q = inputs[0].astype(np.float32) / np.float32(p["scale"])
    out = np.clip(round_half_away_f32(q) + p["out_zp"], p["qmin"], p["qmax"])
    return [out.astype(np.dtype(p["out_dtype"]))]


def run_requantize(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x = wrap_int32(inputs[0].astype(np.int64) - p["in_zp"])
    out = wrap_int32(multiply_by_quantized_multiplier(x, p["mult"], p["shift"]) + p["out_zp"])
    return [np.clip(out, p["qmin"], p["qmax"]).astype(np.dtype(p["out_dtype"]))]


@register
class Quantize(OpDef):
    name = "quantize"
    tflite = ("QUANTIZE",)
    kernels = {"quantize_f32": run_affine, "requantize": run_requantize}
    dtypes = AFFINE | REQUANTIZE

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        qo = quant(graph, y.name, node)
        expect(not qo.per_channel, node, "per-channel output quantization is not supported (TFLM refuses it too)")
        lo, hi = INT_RANGES[y.dtype]
        expect(lo <= qo.zp <= hi, node, f"output zero point {qo.zp} is outside the {y.dtype} range")
        if x.dtype != "float32":
            qi = quant(graph, x.name, node)
            expect(not qi.per_channel, node, "per-channel input quantization is not supported")
            _, shift = quantize_multiplier(float(qi.s) / float(qo.s))
            expect(shift <= 30, node, f"input / output scale ratio {qi.s / qo.s:g} is too large to requantize")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        qo = quant(graph, y.name, node)
        lo, hi = INT_RANGES[y.dtype]
        params: dict = {"size": x.size, "out_zp": qo.zp, "qmin": lo, "qmax": hi, "out_dtype": y.dtype}
        if x.dtype == "float32":
            return Step("quantize_f32", node.name, [x.name], [y.name], params | {"scale": qo.s})
        qi = quant(graph, x.name, node)
        # TFLM's Prepare: effective scale in double from the two float32 scales
        mult, shift = quantize_multiplier(float(qi.s) / float(qo.s))
        params |= {"in_zp": qi.zp, "mult": mult, "shift": shift}
        return Step("requantize", node.name, [x.name], [y.name], params)
