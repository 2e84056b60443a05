"""TFLite's "hybrid" conv2d: float32 activations with int8 weights (dynamic-range quantized models).

TFLite (not TFLM, which refuses hybrid models) quantizes each input sample on the fly,
symmetrically to [-127, 127] with scale max|x| / 127 (tensor_utils::SymmetricQuantizeFloats),
sums int8 x int8 products in int32, then scales the sum back to float:
out = float(acc) * (input_scale * weight_scale) + bias, clamped (optimized_ops::HybridConv).
Every float operation below is the float32 operation TFLite performs, in the same order, so
the outputs match TFLite to the last bit up to the order of an exact integer sum.

Only per-tensor weight scales (or per-channel scales that are all equal, which TFLite treats the
same way) are supported; TFLite's per-channel hybrid path quantizes inputs asymmetrically.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import expect
from tinyc.ops._common import batch_view, patches, quant


def symmetric_quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample (axis 0) int8 values in [-127, 127] and the float32 scale of each sample."""
    flat = x.reshape(x.shape[0], -1).astype(np.float32)
    rng = np.maximum(np.abs(flat.min(axis=1)), np.abs(flat.max(axis=1))).astype(np.float32)
    safe = np.where(rng == 0, np.float32(1), rng)
    scale = np.where(rng == 0, np.float32(1), safe / np.float32(127)).astype(np.float32)
    inv = (np.float32(127) / safe).astype(np.float32)
    v = (flat * inv[:, None]).astype(np.float32).astype(np.float64)
    q = np.where(v >= 0, np.floor(v + 0.5), -np.floor(-v + 0.5))  # std::round: halves away from zero
    q = np.where(rng[:, None] == 0, 0, np.clip(q, -127, 127))
    return q.reshape(x.shape), scale


def run_conv2d_hybrid(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    x = batch_view(inputs[0], 4)
    q, in_scale = symmetric_quantize(x)
    factor = (in_scale * np.float32(p["weight_scale"])).astype(np.float32)
    win = patches(q, p["k_h"], p["k_w"], (p["stride_h"], p["stride_w"]), (p["dil_h"], p["dil_w"]),
                  (p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"]), 0.0)
    n, oh, ow = win.shape[:3]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, -1)
    w = c["weights"].reshape(c["weights"].shape[0], -1).astype(np.float64)
    acc = (cols @ w.T).reshape(n, oh, ow, -1)  # exact: integer sums far below 2**53
    out = (acc.astype(np.float32) * factor[:, None, None, None]).astype(np.float32) + c["bias"]
    out = np.clip(out, np.float32(p["act_min"]), np.float32(p["act_max"])).astype(np.float32)
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


def lower_conv2d_hybrid(graph: Graph, node: Node, step: Step, bias: np.ndarray) -> None:
    """Fill a conv2d step whose input is float32 and whose weights are int8."""
    w = graph.tensor(node.inputs[1])
    q = quant(graph, w.name, node)
    expect(bool(np.all(q.zero_point == 0)), node, "hybrid int8 weights must be symmetric (zero point 0)")
    expect(bool(np.all(q.scale == q.scale[0])), node,
           "hybrid conv with per-channel weight scales (TFLite's asymmetric-input path) is not supported")
    step.kernel = "conv2d_hybrid"
    step.params["weight_scale"] = float(q.scale[0])
    step.scratch = graph.tensor(node.inputs[0]).size  # the input quantized to int8
    step.consts = {"weights": w.data, "bias": bias.astype(np.float32)}
