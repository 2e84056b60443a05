"""Post-training static int8 quantization of float graphs, following the TFLite quantization spec.

Weights: symmetric int8, per output channel for conv/depthwise, per tensor for fully connected;
biases int32 at scale s_in * s_w; activations asymmetric int8 per tensor from calibrated ranges.
Ops that must keep their input's quantization (pooling, reshape, transpose) inherit it; softmax
outputs use the fixed scale 1/256 and zero point -128.
"""

from __future__ import annotations

import copy

import numpy as np

from tinyc.errors import InputError
from tinyc.ir import Graph, Quant, Tensor
from tinyc.lower import lower
from tinyc.runtime import run_plan

PASS_THROUGH = {"avg_pool2d", "max_pool2d", "reshape", "transpose"}
WEIGHT_AXIS = {"conv2d": 0, "depthwise_conv2d": 3, "fully_connected": None}


def check_samples(graph: Graph, samples: np.ndarray) -> np.ndarray:
    """Validate a calibration set: N samples of the model's input shape, finite float32."""
    t = graph.tensor(graph.inputs[0])
    samples = np.asarray(samples)
    if samples.size == 0 or samples.ndim == 0 or samples.shape[0] == 0:
        raise InputError("calibration data is empty")
    if samples.shape[1:] != t.shape:
        raise InputError(f"calibration samples have shape {list(samples.shape[1:])}, "
                         f"model '{graph.name}' takes {list(t.shape)}")
    if not np.issubdtype(samples.dtype, np.floating):
        raise InputError(f"calibration data must be floating point, got {samples.dtype}")
    if not np.all(np.isfinite(samples)):
        bad = int(np.count_nonzero(~np.isfinite(samples).reshape(len(samples), -1).all(axis=1)))
        raise InputError(f"calibration data contains NaN or infinite values ({bad} of {len(samples)} samples)")
    return samples.astype(np.float32)


def calibrate(graph: Graph, samples: np.ndarray, batch: int = 256) -> dict[str, tuple[float, float]]:
    """Min-max range of every activation over the calibration samples."""
    samples = check_samples(graph, samples)
    plan = lower(graph)
    ranges: dict[str, tuple[float, float]] = {}
    for start in range(0, len(samples), batch):
        values = run_plan(plan, [samples[start:start + batch]], keep_all=True)
        for name, v in values.items():
            lo, hi = float(v.min()), float(v.max())
            old = ranges.get(name, (lo, hi))
            ranges[name] = (min(old[0], lo), max(old[1], hi))
    return ranges


def activation_quant(lo: float, hi: float) -> Quant:
    lo, hi = min(lo, 0.0), max(hi, 0.0)  # zero must be exactly representable
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return Quant(np.float32(scale), zp)


def quantize_weights(w: np.ndarray, axis: int | None) -> tuple[np.ndarray, Quant]:
    if axis is None:
        scale = np.array([max(float(np.abs(w).max()), 1e-12) / 127.0], np.float32)
        q = np.clip(np.round(w / scale[0]), -127, 127).astype(np.int8)
        return q, Quant(scale, 0)
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    scale = (np.maximum(np.abs(moved).max(axis=1), 1e-12) / 127.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, Quant(scale, np.zeros_like(scale, dtype=np.int32), axis)


def quantize(graph: Graph, ranges: dict[str, tuple[float, float]]) -> Graph:
    """A new int8 graph computing what `graph` computes on the calibrated ranges."""
    q = copy.deepcopy(graph)
    q.name = graph.name
    quants: dict[str, Quant] = {}
    for name in q.inputs:
        quants[name] = activation_quant(*ranges[name])
    for node in q.nodes:
        out = node.outputs[0]
        if node.op in PASS_THROUGH:
            quants[out] = quants[node.inputs[0]]
        elif node.op == "softmax":
            quants[out] = Quant(np.float32(1.0 / 256.0), -128)
        else:
            quants[out] = activation_quant(*ranges[out])
        if node.op in WEIGHT_AXIS:
            w = q.tensor(node.inputs[1])
            wq, w_quant = quantize_weights(w.data, WEIGHT_AXIS[node.op])
            q.tensors[w.name] = Tensor(w.name, w.shape, "int8", w_quant, wq)
            if len(node.inputs) > 2 and node.inputs[2]:
                b = q.tensor(node.inputs[2])
                bias_scale = quants[node.inputs[0]].s * w_quant.scale.astype(np.float64)
                bq = np.clip(np.round(b.data / bias_scale), -(2**31), 2**31 - 1).astype(np.int32)
                q.tensors[b.name] = Tensor(b.name, b.shape, "int32", Quant(bias_scale.astype(np.float32),
                                           np.zeros(bias_scale.size, np.int32), 0 if bias_scale.size > 1 else None), bq)
        elif node.op == "add" and q.tensor(node.inputs[1]).is_const:
            b = q.tensor(node.inputs[1])
            bq = activation_quant(float(b.data.min()), float(b.data.max()))
            data = np.clip(np.round(b.data / bq.s) + bq.zp, -128, 127).astype(np.int8)
            q.tensors[b.name] = Tensor(b.name, b.shape, "int8", bq, data)
    for name, quant in quants.items():
        t = q.tensor(name)
        q.tensors[name] = Tensor(name, t.shape, "int8", quant)
    q.verify()
    return q


def quantize_input(graph: Graph, x: np.ndarray) -> np.ndarray:
    """Float samples -> the int8 input of a quantized graph."""
    qt = graph.tensor(graph.inputs[0]).quant
    return np.clip(np.round(x / qt.s) + qt.zp, -128, 127).astype(np.int8)
