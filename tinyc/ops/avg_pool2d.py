"""Average pooling, NHWC; the average is over the window's valid (unpadded) positions, as in TFLM.

int8 and int16 round the average half away from zero with integer division, like TFLM's (integer) AveragePool;
input and output share their quantization, so there is no requantization.
"""

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
from tinyc.ops._float import QUIET, clamp, running_sum
from tinyc.ops._int16 import WITH_INT16, int16_bounds


def window_sums(x: np.ndarray, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """Sums of each window and the number of valid positions in it."""
    geo = ((p["stride_h"], p["stride_w"]), (1, 1), (p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"]))
    sums = patches(x.astype(np.float64), p["k_h"], p["k_w"], *geo, 0.0).sum(axis=(4, 5))
    ones = np.ones((1,) + x.shape[1:3] + (1,))
    counts = patches(ones, p["k_h"], p["k_w"], *geo, 0.0).sum(axis=(4, 5))
    return sums, counts


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    sums, counts = window_sums(batch_view(inputs[0], 4), p)
    acc, cnt = sums.astype(np.int64), counts.astype(np.int64)
    half = cnt // 2
    num = np.where(acc > 0, acc + half, acc - half)
    avg = np.sign(num) * (np.abs(num) // cnt)  # C division truncates toward zero
    out = np.clip(avg, p["act_min"], p["act_max"]).astype(inputs[0].dtype)
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """As avg_pool2d_f32.c.j2: a float32 sum of the valid taps, rows then columns, / their count, the clamp.
    (The padded taps add +0.0, which changes no float32 sum that starts at +0.0.)"""
    p = step.params
    x = batch_view(np.asarray(inputs[0], np.float32), 4)
    geo = ((p["stride_h"], p["stride_w"]), (1, 1), (p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"]))
    win = patches(x, p["k_h"], p["k_w"], *geo, 0.0)
    total = running_sum([win[..., ky, kx] for ky in range(p["k_h"]) for kx in range(p["k_w"])])
    _, counts = window_sums(x[:1], p)
    with np.errstate(**QUIET):
        out = clamp(total / counts.astype(np.float32), p["act_min"], p["act_max"])
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


@register
class AvgPool2D(OpDef):
    name = "avg_pool2d"
    tflite = ("AVERAGE_POOL_2D",)
    kernels = {"avg_pool2d_s8": run_s8, "avg_pool2d_f32": run_f32, "avg_pool2d_s16": run_s8}
    dtypes = WITH_INT16

    def check(self, node: Node, graph: Graph) -> None:
        kh, kw = node.attrs["kernel"]
        x = graph.tensor(node.inputs[0])
        check_window(node, graph, kh, kw, x.shape[-1] if len(x.shape) == 4 else -1)
        if x.dtype in ("int8", "int16"):
            qi, qo = quant(graph, node.inputs[0], node), quant(graph, node.outputs[0], node)
            expect(qi.s == qo.s and qi.zp == qo.zp, node, f"{x.dtype} average pooling needs equal input/output "
                   "quantization")

    def macs(self, node: Node, graph: Graph) -> int:
        kh, kw = node.attrs["kernel"]
        return graph.tensor(node.outputs[0]).size * kh * kw

    def lower(self, node: Node, graph: Graph) -> Step:
        kh, kw = node.attrs["kernel"]
        int16 = graph.tensor(node.inputs[0]).dtype == "int16"
        params = window_geometry(node, graph, kh, kw) | (int16_bounds(node, graph) if int16 else
                                                         tflm_output_bounds(node, graph))
        kernel = "avg_pool2d_s16" if int16 else "avg_pool2d_s8" if is_int8(graph, node) else "avg_pool2d_f32"
        return Step(kernel, node.name, [node.inputs[0]], [node.outputs[0]], params, macs=self.macs(node, graph))
