"""Max pooling, NHWC, over the window's valid positions; int8, int16 and float32."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import (
    batch_view,
    check_window,
    is_int8,
    patches,
    quant,
    tflm_output_bounds,
    window_geometry,
)
from tinyc.ops._float import clamp, running_max
from tinyc.ops._int16 import WITH_INT16, int16_bounds


def window_max(x: np.ndarray, p: dict, lowest: float) -> np.ndarray:
    pads = (p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"])
    return patches(x, p["k_h"], p["k_w"], (p["stride_h"], p["stride_w"]), (1, 1), pads, lowest).max(axis=(4, 5))


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x = batch_view(inputs[0], 4)
    lowest = np.iinfo(x.dtype).min if x.dtype.kind == "i" else -np.inf
    out = np.clip(window_max(x, p, lowest), p["act_min"], p["act_max"]).astype(x.dtype)
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """As max_pool2d_f32.c.j2: m = -inf, then m = v > m ? v : m over the valid taps (NaN skipped), the clamp."""
    p = step.params
    x = batch_view(np.asarray(inputs[0], np.float32), 4)
    pads = (p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"])
    win = patches(x, p["k_h"], p["k_w"], (p["stride_h"], p["stride_w"]), (1, 1), pads, -np.inf)
    taps = [win[..., ky, kx] for ky in range(p["k_h"]) for kx in range(p["k_w"])]
    out = clamp(running_max(taps, np.full(win.shape[:4], -np.inf, np.float32)), p["act_min"], p["act_max"])
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


@register
class MaxPool2D(OpDef):
    name = "max_pool2d"
    tflite = ("MAX_POOL_2D",)
    kernels = {"max_pool2d_s8": run, "max_pool2d_f32": run_f32, "max_pool2d_s16": run}
    dtypes = WITH_INT16

    def check(self, node: Node, graph: Graph) -> None:
        kh, kw = node.attrs["kernel"]
        x = graph.tensor(node.inputs[0])
        check_window(node, graph, kh, kw, x.shape[-1] if len(x.shape) == 4 else -1)
        if x.dtype in ("int8", "int16"):
            qi, qo = quant(graph, node.inputs[0], node), quant(graph, node.outputs[0], node)
            expect(qi.s == qo.s and qi.zp == qo.zp, node, f"{x.dtype} max pooling needs equal input/output "
                   "quantization")

    def lower(self, node: Node, graph: Graph) -> Step:
        kh, kw = node.attrs["kernel"]
        int16 = graph.tensor(node.inputs[0]).dtype == "int16"
        params = window_geometry(node, graph, kh, kw) | (int16_bounds(node, graph) if int16 else
                                                         tflm_output_bounds(node, graph))
        kernel = "max_pool2d_s16" if int16 else "max_pool2d_s8" if is_int8(graph, node) else "max_pool2d_f32"
        return Step(kernel, node.name, [node.inputs[0]], [node.outputs[0]], params)
