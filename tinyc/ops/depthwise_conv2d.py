"""Depthwise 2-D convolution, NHWC, weights [1, KH, KW, C*multiplier]; int8 as TFLM's DepthwiseConvPerChannel."""

from __future__ import annotations

import numpy as np

from tinyc._kernels import depthwise_conv2d as _depthwise
from tinyc._kernels import float_kernels as _float
from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
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
from tinyc.ops._int16 import WITH_INT16, check_s16, lower_s16, run_depthwise_conv2d_s16
from tinyc.ops.conv2d import check_weights_symmetric, float_bias, folded_bias, per_channel_requant


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    x = np.ascontiguousarray(batch_view(inputs[0], 4))
    out = _depthwise.depthwise_conv2d_s8(
        x, c["weights"], c["bias"], c["mult"], c["shift"], p["depth_multiplier"], p["stride_h"],
        p["stride_w"], p["dil_h"], p["dil_w"], p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"],
        p["in_zp"], p["out_zp"], p["act_min"], p["act_max"])
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """float32 accumulation in the generated C's order (ky, kx), then + bias, then the clamp: the C's bits."""
    p, c = step.params, step.consts
    x = np.ascontiguousarray(batch_view(inputs[0], 4), np.float32)
    out = _float.depthwise_conv2d_f32(
        x, c["weights"], c["bias"], p["depth_multiplier"], p["stride_h"], p["stride_w"], p["dil_h"], p["dil_w"],
        p["pad_top"], p["pad_left"], p["out_h"], p["out_w"], p["act_min"], p["act_max"])
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


@register
class DepthwiseConv2D(OpDef):
    name = "depthwise_conv2d"
    tflite = ("DEPTHWISE_CONV_2D",)
    arity = (2, 3)
    kernels = {"depthwise_conv2d_s8": run_s8, "depthwise_conv2d_f32": run_f32,
               "depthwise_conv2d_s16": run_depthwise_conv2d_s16}
    dtypes = WITH_INT16

    def check(self, node: Node, graph: Graph) -> None:
        w = graph.tensor(node.inputs[1])
        x = graph.tensor(node.inputs[0])
        expect(w.is_const and len(w.shape) == 4 and w.shape[0] == 1, node, "weights must be a constant [1,KH,KW,C]")
        dm = node.attrs.get("depth_multiplier", 1)
        expect(isinstance(dm, int | np.integer) and dm >= 1, node, f"depth multiplier {dm} is not a positive integer")
        expect(len(x.shape) == 4 and x.shape[3] * dm == w.shape[3], node,
               f"input channels {x.shape[-1]} x multiplier {dm} do not match weights {list(w.shape)}")
        check_window(node, graph, w.shape[1], w.shape[2], w.shape[3])
        if x.dtype == "int16":  # TFLM's int16 depthwise reads its bias as int64
            check_s16(node, graph, w.shape[3], 3, int32_bias=False)
            return
        expect(x.dtype == "int8" or w.dtype == "float32", node, "float activations need float32 weights")
        check_weighted(node, graph, w.shape[3], 3)

    def macs(self, node: Node, graph: Graph) -> int:
        w = graph.tensor(node.inputs[1]).shape
        return int(np.prod(graph.tensor(node.outputs[0]).shape)) * w[1] * w[2]

    def lower(self, node: Node, graph: Graph) -> Step:
        w = graph.tensor(node.inputs[1])
        n_out = w.shape[3]
        weights = w.data.reshape(w.shape[1:])
        params = (window_geometry(node, graph, w.shape[1], w.shape[2]) | tflm_output_bounds(node, graph)
                  | {"depth_multiplier": int(node.attrs.get("depth_multiplier", 1))})
        step = Step("", node.name, [node.inputs[0]], [node.outputs[0]], params, macs=self.macs(node, graph))
        if graph.tensor(node.inputs[0]).dtype == "int16":
            lower_s16(step, graph, node, weights, 2, *per_channel_requant(graph, node, n_out))
        elif is_int8(graph, node):
            check_weights_symmetric(graph, node)
            mult, shift = per_channel_requant(graph, node, n_out)
            step.kernel = "depthwise_conv2d_s8"
            step.params |= {"in_zp": quant(graph, node.inputs[0], node).zp,
                            "out_zp": quant(graph, node.outputs[0], node).zp}
            step.consts = {"weights": weights, "bias": folded_bias(graph, node, weights, 2),
                           "mult": mult, "shift": shift}
        else:
            step.kernel = "depthwise_conv2d_f32"
            step.consts = {"weights": weights.astype(np.float32), "bias": float_bias(graph, node, n_out)}
        return step


LONG_ROW = 12  # output rows at least this long put their border pixels through the kernel's border function


def dsp3_plan(step: Step) -> dict | None:
    """How the DSP-extension kernel (templates/_depthwise_dsp.j2) covers an int8 depthwise step, or None when
    it does not apply: 3x3, multiplier 1, no dilation, at least 4 channels, and twice any accumulator within
    int32 (|bias| + 128 * sum |w| < 2**30 per channel; the kernel accumulates doubled weights).

    The plan: phases (rows, first, end): the output rows [first, end) whose windows are inside the input
    vertically (rows 0), or have one padding row at the top (rows 1) or bottom (rows -1) and are read one row
    down or up with the block's weights shifted (see tinyc_dw3_setup); `generic_rows` when some other row
    goes through the kernel's border function. For the phases' rows, the pixels in segments along the row
    (`generic` segments [start, stop) through the border function, on rows of LONG_ROW pixels or more):
    `loop` segments are pairs in a run-time loop over [start, stop) with all columns inside; the others are
    1 or 2 pixels at a fixed position whose columns over the left / right border read the zero point."""
    p, c = step.params, step.consts
    if not (p["k_h"] == p["k_w"] == 3 and p["depth_multiplier"] == 1 and p["dil_h"] == p["dil_w"] == 1
            and p["out_c"] >= 4):
        return None
    w = np.abs(c["weights"].astype(np.int64)).reshape(-1, p["out_c"]).sum(axis=0)
    if (np.abs(c["bias"].astype(np.int64)) + 128 * w).max() >= 2**30:
        return None
    oh, ow, sh, sw = p["out_h"], p["out_w"], p["stride_h"], p["stride_w"]

    def inside(n_out: int, stride: int, pad: int, n_in: int) -> tuple[int, int]:
        first = min(-(-pad // stride), n_out)
        last = min(n_out, (n_in - 3 + pad) // stride + 1) if n_in - 3 + pad >= 0 else 0
        return first, max(first, last)

    x0, x1 = inside(ow, sw, p["pad_left"], p["in_w"])
    segments: list[dict] = []
    if ow >= LONG_ROW:  # the few border pixels through the border function: one code copy (a pair) per step
        pairs = (x1 - x0) // 2
        stop = x0 + 2 * pairs
        segments = [{"generic": True, "loop": False, "start": 0, "stop": x0}] if x0 else []
        segments += [{"generic": False, "loop": True, "start": x0, "stop": stop, "np": 2}] if pairs else []
        segments += [{"generic": True, "loop": False, "start": stop, "stop": ow}] if stop < ow else []
    else:
        def fixed(start: int, stop: int) -> None:
            for ox in range(start, stop, 2):
                n = min(2, stop - ox)
                ix = ox * sw - p["pad_left"]
                col = max(0, ix)  # x points at the first column inside the input
                segments.append({"generic": False, "loop": False, "ox": ox, "np": n, "col": col,
                                 "first": ix - col, "lo": -col, "hi": p["in_w"] - col})

        left = min(ow, x0 + x0 % 2)  # the border pixels on the left in pairs (the last with an inner one)
        fixed(0, left)
        pairs = max(0, x1 - left) // 2
        if pairs:
            segments.append({"generic": False, "loop": True, "start": left, "stop": left + 2 * pairs, "np": 2})
        fixed(left + 2 * pairs, ow)
    r0, r1 = inside(oh, sh, p["pad_top"], p["in_h"])
    phases = [(0, r0, r1)]
    for oy in [*range(r0), *range(r1, oh)]:  # a row with one padding row, 3 rows of input: read shifted
        iy = oy * sh - p["pad_top"]
        if iy == -1 and p["in_h"] >= 3:
            phases.append((1, oy, oy + 1))
        elif iy + 2 == p["in_h"] and iy >= 1:
            phases.append((-1, oy, oy + 1))
    covered = sum(hi - lo for _, lo, hi in phases)
    interior = (x0, x0 + (x1 - x0) // 2 * 2)  # the pairs of every row whose columns are inside (shared kernel)
    return {"phases": phases, "generic_rows": covered < oh, "segments": segments, "interior": interior}
