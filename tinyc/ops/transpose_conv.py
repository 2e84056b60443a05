"""TRANSPOSE_CONV (NHWC input, OHWI weights, optional bias) as TFLM's reference kernels (transpose_conv.cc,
reference/transpose_conv.h, reference_integer_ops/transpose_conv.h).

Each input pixel scatters input * weights into the output window it covers: output[oy, ox, oc] sums
x[iy, ix, ic] * w[oc, ky, kx, ic] over oy = iy * stride - pad + ky (and the same along x), taps outside the
output dropped. The padding is TFLM's: ComputePaddingHeightWidth on the *output* size (the output shape
comes from the output tensor; TFLM ignores the shape operand). The kernels here gather instead of scatter,
in the scatter's order for each output (iy, then ix, then ic ascending), so the float sums round as TFLM's.
int8: (x - zp_in) * w summed in int32 (the verifier bounds it, so no order matters), + bias,
MultiplyByQuantizedMultiplier per output channel, + zp_out, clamped to the fused activation's int8 range.
float32: + bias, then the fused activation's clamp (TFLM's bounds are +-FLT_MAX, not infinities).
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import FLOAT_BOUNDS, MAX_WINDOW, activation_of, check_weighted, output_bounds, quant
from tinyc.ops._float import clamp
from tinyc.ops.conv2d import per_channel_requant

FLT_MAX = float(np.finfo(np.float32).max)
PADDINGS = ("same", "valid")


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def tflm_padding(out_size: int, k: int, stride: int, padding: str) -> int:
    """TFLM's CalculateOpData: ComputePaddingHeightWidth with the output size as the 'input' size."""
    n = _c_div(out_size + stride - 1, stride) if padding == "same" else _c_div(out_size + stride - k, stride)
    total = (n - 1) * stride + k - out_size
    return max(total, 0) // 2


def _taps(step: Step) -> list[tuple[int, int]]:
    """(ky, kx) in the order TFLM adds them to any one output: iy ascending is ky descending."""
    p = step.params
    return [(ky, kx) for ky in range(p["k_h"] - 1, -1, -1) for kx in range(p["k_w"] - 1, -1, -1)]


def _canvas(step: Step, n: int, dtype: type) -> np.ndarray:
    """A zeroed buffer whose row r is output row r - pad_h (column likewise): it holds every scatter target
    iy * stride + ky and the output window, which may extend past the scatter."""
    p = step.params
    h = max((p["in_h"] - 1) * p["stride_h"] + p["k_h"], p["pad_h"] + p["out_h"])
    w = max((p["in_w"] - 1) * p["stride_w"] + p["k_w"], p["pad_w"] + p["out_w"])
    return np.zeros((n, h, w, p["out_c"]), dtype)


def _window(step: Step, acc: np.ndarray) -> np.ndarray:
    p = step.params
    return acc[:, p["pad_h"]:p["pad_h"] + p["out_h"], p["pad_w"]:p["pad_w"] + p["out_w"]]


def _scatter_view(step: Step, acc: np.ndarray, ky: int, kx: int) -> np.ndarray:
    p = step.params
    return acc[:, ky:ky + p["in_h"] * p["stride_h"]:p["stride_h"], kx:kx + p["in_w"] * p["stride_w"]:p["stride_w"]]


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    lead = inputs[0].shape[:-3]
    x = inputs[0].reshape((-1,) + inputs[0].shape[-3:]).astype(np.float64) - p["in_zp"]
    w = c["weights"].astype(np.float64)
    acc = _canvas(step, len(x), np.float64)
    for ky, kx in _taps(step):  # integer sums below 2**31 (the verifier's bound): exact in float64
        _scatter_view(step, acc, ky, kx)[...] += x @ w[:, ky, kx, :].T
    total = np.rint(_window(step, acc)).astype(np.int64) + c["bias"]
    out = np.clip(mbqm(total, c["mult"], c["shift"]) + p["out_zp"], p["act_min"], p["act_max"]).astype(np.int8)
    return [out.reshape(lead + out.shape[1:])]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    lead = inputs[0].shape[:-3]
    x = inputs[0].reshape((-1,) + inputs[0].shape[-3:]).astype(np.float32)
    w = c["weights"]
    acc = _canvas(step, len(x), np.float32)
    with np.errstate(all="ignore"):
        for ky, kx in _taps(step):
            view = _scatter_view(step, acc, ky, kx)
            for ic in range(p["in_c"]):  # one float32 rounding per product and per sum, as the C
                view[...] = view + x[..., ic:ic + 1] * w[:, ky, kx, ic]
        out = clamp(_window(step, acc) + c["bias"], p["act_min"], p["act_max"])
    return [out.reshape(lead + out.shape[1:])]


def max_taps(k: int, stride: int) -> int:
    """The most input pixels one output pixel gathers along an axis."""
    return -(-k // stride)


@register
class TransposeConv(OpDef):
    name = "transpose_conv"
    tflite = ("TRANSPOSE_CONV",)
    arity = (2, 3)
    kernels = {"transpose_conv_s8": run_s8, "transpose_conv_f32": run_f32}

    def check(self, node: Node, graph: Graph) -> None:
        x, w, y = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
        expect(w.is_const and len(w.shape) == 4, node, "weights must be a constant OHWI tensor")
        expect(len(x.shape) == 4 and len(y.shape) == 4, node, "input and output must be 4-D NHWC")
        expect(x.shape[3] == w.shape[3], node, f"input channels {x.shape[3]} do not match weights {list(w.shape)}")
        expect(y.shape[0] == x.shape[0] and y.shape[3] == w.shape[0], node,
               f"output shape {list(y.shape)} does not match batch {x.shape[0]} and {w.shape[0]} output channels")
        expect(node.attrs.get("padding") in PADDINGS, node, "padding must be 'same' or 'valid'")
        sh, sw = node.attrs.get("stride", (1, 1))
        expect(all(isinstance(v, int | np.integer) and 1 <= v <= MAX_WINDOW for v in (sh, sw)), node,
               f"strides must be integers in 1..{MAX_WINDOW}")
        activation_of(node)
        expect(x.dtype != "float32" or w.dtype == "float32", node,
               f"float activations need float32 weights, got {w.dtype} (TFLM has no hybrid TRANSPOSE_CONV)")
        check_weighted(node, graph, w.shape[0], 0)
        if x.dtype == "int8":
            count = max_taps(w.shape[1], sh) * max_taps(w.shape[2], sw) * w.shape[3]
            bias = np.abs(graph.tensor(node.inputs[2]).data.astype(np.int64)).max() if self._bias(node) else 0
            expect(255 * 128 * count + int(bias) < 2**31, node,
                   f"its int32 sums could overflow ({count} products per output): TFLM's kernel would wrap")

    @staticmethod
    def _bias(node: Node) -> bool:
        return len(node.inputs) > 2 and bool(node.inputs[2])

    def macs(self, node: Node, graph: Graph) -> int:
        x, w = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
        return int(np.prod(x.shape)) * w.shape[0] * w.shape[1] * w.shape[2]

    def lower(self, node: Node, graph: Graph) -> Step:
        x, w, y = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
        (sh, sw), padding = node.attrs.get("stride", (1, 1)), node.attrs["padding"]
        n_out = w.shape[0]
        params: dict = {"batch": x.shape[0], "in_h": x.shape[1], "in_w": x.shape[2], "in_c": x.shape[3],
                        "out_h": y.shape[1], "out_w": y.shape[2], "out_c": n_out, "k_h": w.shape[1],
                        "k_w": w.shape[2], "stride_h": int(sh), "stride_w": int(sw),
                        "pad_h": tflm_padding(y.shape[1], w.shape[1], int(sh), padding),
                        "pad_w": tflm_padding(y.shape[2], w.shape[2], int(sw), padding)}
        step = Step("", node.name, [x.name], [y.name], params, macs=self.macs(node, graph))
        has_bias = self._bias(node)
        if x.dtype == "int8":
            mult, shift = per_channel_requant(graph, node, n_out)
            params |= {"in_zp": quant(graph, x.name, node).zp, "out_zp": quant(graph, y.name, node).zp}
            params |= output_bounds(node, graph)
            bias = graph.tensor(node.inputs[2]).data.astype(np.int32) if has_bias else np.zeros(n_out, np.int32)
            step.kernel = "transpose_conv_s8"
            step.consts = {"weights": w.data.astype(np.int8), "bias": bias, "mult": mult, "shift": shift}
            return step
        lo, hi = FLOAT_BOUNDS[activation_of(node)]
        params |= {"act_min": max(float(lo), -FLT_MAX), "act_max": min(float(hi), FLT_MAX)}
        bias = graph.tensor(node.inputs[2]).data.astype(np.float32) if has_bias else np.zeros(n_out, np.float32)
        step.kernel = "transpose_conv_f32"
        step.consts = {"weights": w.data.astype(np.float32), "bias": bias}
        return step
