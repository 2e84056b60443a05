"""2-D convolution, NHWC input, OHWI weights, optional bias and fused activation.

int8 follows TFLM's ConvPerChannel. The input zero point is folded into the bias at compile
time (bias' = bias - zp_in * sum(w)) and borders are padded with zp_in, so the kernel's inner
loop is a plain int8 dot product; the integer result is identical to TFLM's.
"""

from __future__ import annotations

import numpy as np

from tinyc._kernels import conv2d as _conv2d
from tinyc._kernels import float_kernels as _float
from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import quantize_multiplier
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import (
    batch_view,
    check_weighted,
    check_window,
    is_int8,
    quant,
    tflm_output_bounds,
    window_geometry,
)
from tinyc.ops._hybrid import lower_conv2d_hybrid, run_conv2d_hybrid
from tinyc.ops._int16 import WITH_INT16, check_s16, lower_s16, run_conv2d_s16
from tinyc.ops.sparse_weights import as_dense, sparsify


def per_channel_requant(graph: Graph, node: Node, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Q31 multiplier and shift per output channel: in_scale * w_scale[c] / out_scale, in double as TFLM."""
    s_in = quant(graph, node.inputs[0], node).s
    s_out = quant(graph, node.outputs[0], node).s
    w_scales = quant(graph, node.inputs[1], node).scale
    pairs = [quantize_multiplier(s_in * float(w_scales[c if w_scales.size > 1 else 0]) / s_out) for c in range(n_out)]
    return np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32)


def folded_bias(graph: Graph, node: Node, weights: np.ndarray, channel_axis: int) -> np.ndarray:
    """bias - zp_in * sum(weights of the channel): the zero-point term computed once, at compile time."""
    zp_in = quant(graph, node.inputs[0], node).zp
    sums = np.moveaxis(weights, channel_axis, 0).reshape(weights.shape[channel_axis], -1).astype(np.int64).sum(1)
    bias = np.zeros_like(sums)
    if len(node.inputs) > 2 and node.inputs[2]:
        bias += graph.tensor(node.inputs[2]).data.astype(np.int64).reshape(-1)
    return (bias - zp_in * sums).astype(np.int32)


def float_bias(graph: Graph, node: Node, n_out: int) -> np.ndarray:
    if len(node.inputs) > 2 and node.inputs[2]:
        return graph.tensor(node.inputs[2]).data.astype(np.float32).reshape(-1)
    return np.zeros(n_out, np.float32)


def check_weights_symmetric(graph: Graph, node: Node) -> None:
    w = quant(graph, node.inputs[1], node)
    expect(bool(np.all(w.zero_point == 0)), node, "int8 weights must be symmetric (zero point 0)")


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    x = np.ascontiguousarray(batch_view(inputs[0], 4))
    out = _conv2d.conv2d_s8(
        x, c["weights"], c["bias"], c["mult"], c["shift"], p["stride_h"], p["stride_w"], p["dil_h"],
        p["dil_w"], p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"], p["in_zp"], p["out_zp"],
        p["act_min"], p["act_max"])
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


def im2col_needed(p: dict) -> bool:
    """Whether the sparse kernel copies each window to a patch (all but unpadded 1x1 windows)."""
    padded = any(p[k] for k in ("pad_top", "pad_left", "pad_bottom", "pad_right"))
    return p["k_h"] * p["k_w"] > 1 or padded


def run_sparse_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    return run_s8(as_dense(step), inputs)


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """float32 accumulation in the generated C's order (ky, kx, ic), then + bias, then the clamp: the C's bits."""
    p, c = step.params, step.consts
    x = np.ascontiguousarray(batch_view(inputs[0], 4), np.float32)
    out = _float.conv2d_f32(x, c["weights"], c["bias"], p["stride_h"], p["stride_w"], p["dil_h"], p["dil_w"],
                            p["pad_top"], p["pad_left"], p["out_h"], p["out_w"], p["act_min"], p["act_max"])
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


@register
class Conv2D(OpDef):
    name = "conv2d"
    tflite = ("CONV_2D",)
    arity = (2, 3)
    kernels = {"conv2d_s8": run_s8, "conv2d_sparse_s8": run_sparse_s8, "conv2d_f32": run_f32,
               "conv2d_hybrid": run_conv2d_hybrid, "conv2d_s16": run_conv2d_s16}
    dtypes = WITH_INT16

    def check(self, node: Node, graph: Graph) -> None:
        w = graph.tensor(node.inputs[1])
        expect(w.is_const and len(w.shape) == 4, node, "weights must be a constant OHWI tensor")
        x = graph.tensor(node.inputs[0])
        expect(len(x.shape) == 4 and x.shape[3] == w.shape[3], node,
               f"input channels {x.shape[-1]} do not match weights {list(w.shape)}")
        check_window(node, graph, w.shape[1], w.shape[2], w.shape[0])
        if x.dtype == "int16":
            check_s16(node, graph, w.shape[0], 0, int32_bias=True)
        else:
            check_weighted(node, graph, w.shape[0], 0)

    def macs(self, node: Node, graph: Graph) -> int:
        w = graph.tensor(node.inputs[1]).shape
        y = graph.tensor(node.outputs[0]).shape
        return int(np.prod(y)) * w[1] * w[2] * w[3]

    def lower(self, node: Node, graph: Graph) -> Step:
        w = graph.tensor(node.inputs[1])
        n_out = w.shape[0]
        params = window_geometry(node, graph, w.shape[1], w.shape[2]) | tflm_output_bounds(node, graph)
        step = Step("", node.name, [node.inputs[0]], [node.outputs[0]], params, macs=self.macs(node, graph))
        if graph.tensor(node.inputs[0]).dtype == "int16":
            lower_s16(step, graph, node, w.data, 0, *per_channel_requant(graph, node, n_out))
        elif is_int8(graph, node):
            check_weights_symmetric(graph, node)
            mult, shift = per_channel_requant(graph, node, n_out)
            step.kernel = "conv2d_s8"
            step.params |= {"in_zp": quant(graph, node.inputs[0], node).zp,
                            "out_zp": quant(graph, node.outputs[0], node).zp}
            step.consts = {"weights": w.data, "bias": folded_bias(graph, node, w.data, 0),
                           "mult": mult, "shift": shift}
            if sparsify(step, "conv2d_sparse_s8").kernel == "conv2d_sparse_s8" and im2col_needed(step.params):
                step.scratch = step.params["k_h"] * step.params["k_w"] * step.params["in_c"]
        elif w.dtype == "int8":  # float activations, int8 weights: TFLite's hybrid conv
            lower_conv2d_hybrid(graph, node, step, float_bias(graph, node, n_out))
        else:
            step.kernel = "conv2d_f32"
            step.consts = {"weights": w.data.astype(np.float32), "bias": float_bias(graph, node, n_out)}
        return step
