"""L2_POOL_2D (float32 only, as TFLM): sqrt(sum of squares / count) over the window's valid positions, clamped.

TFLM's reference L2Pool, step for step: float32 sum of v * v in tap order (rows, then columns), / the count,
std::sqrt, the activation clamp (to +-FLT_MAX without an activation, as TFLM's: an infinite result becomes
FLT_MAX). tinyc's square root (tinyc_sqrtf, integer-only) is IEEE's correctly rounded one, which std::sqrt is
too, so the bytes agree.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, register
from tinyc.ops._common import batch_view, check_window, patches, tflm_output_bounds, window_geometry
from tinyc.ops._float import QUIET, clamp, running_sum
from tinyc.ops._mathf import sqrtf
from tinyc.ops.avg_pool2d import window_sums


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x = batch_view(np.asarray(inputs[0], np.float32), 4)
    geo = ((p["stride_h"], p["stride_w"]), (1, 1), (p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"]))
    with np.errstate(**QUIET):
        win = patches(x, p["k_h"], p["k_w"], *geo, 0.0)  # padded taps add +0.0 * +0.0: no change to the sum
        total = running_sum([win[..., ky, kx] * win[..., ky, kx] for ky in range(p["k_h"]) for kx in range(p["k_w"])])
        _, counts = window_sums(x[:1], p)
        out = clamp(sqrtf(total / counts.astype(np.float32)), p["act_min"], p["act_max"])
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


@register
class L2Pool2D(OpDef):
    name = "l2_pool2d"
    tflite = ("L2_POOL_2D",)
    kernels = {"l2_pool2d_f32": run_f32}
    dtypes = frozenset({("float32", "float32")})  # TFLM has no quantized L2Pool

    def check(self, node: Node, graph: Graph) -> None:
        kh, kw = node.attrs["kernel"]
        x = graph.tensor(node.inputs[0])
        check_window(node, graph, kh, kw, x.shape[-1] if len(x.shape) == 4 else -1)

    def macs(self, node: Node, graph: Graph) -> int:
        kh, kw = node.attrs["kernel"]
        return graph.tensor(node.outputs[0]).size * kh * kw

    def lower(self, node: Node, graph: Graph) -> Step:
        kh, kw = node.attrs["kernel"]
        params = window_geometry(node, graph, kh, kw) | tflm_output_bounds(node, graph)
        return Step("l2_pool2d_f32", node.name, [node.inputs[0]], [node.outputs[0]], params,
                    macs=self.macs(node, graph))
