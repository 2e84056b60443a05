"""The int8 scheme of the TFLite quantization spec: how a float range or weight tensor becomes int8.

Activations: asymmetric per tensor, zero exactly representable. Weights: symmetric in [-127, 127],
per output channel (conv, depthwise; fully connected optionally), zero point 0. Biases: int32 at
scale input_scale * weight_scale.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Node, Quant

PASS_THROUGH = {"avg_pool2d", "max_pool2d", "reshape", "transpose"}  # output keeps the input's quantization
CLAMPS = {"relu6", "relu_n1_to_1"}  # stand-alone clamps TFLM computes in the input's quantization
FIXED_OUTPUT = {"softmax": Quant(np.float32(1.0 / 256.0), -128)}  # TFLM's required output quantization
WEIGHT_AXIS = {"conv2d": 0, "depthwise_conv2d": 3, "fully_connected": 0}  # the output-channel axis
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def inherits_quant(node: Node) -> bool:
    """Whether the node's int8 output must have its input's quantization: pooling and layout ops, and
    stand-alone RELU6 / RELU_N1_TO_1, whose TFLM kernels clamp without requantizing."""
    return node.op in PASS_THROUGH or (node.op == "relu" and node.attrs.get("activation") in CLAMPS)


def activation_quant(lo: float, hi: float) -> Quant:
    """Asymmetric int8 over [lo, hi] widened to hold 0; the zero point is nudged to an integer."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return Quant(np.float32(scale), zp)


def quantize_weights(w: np.ndarray, axis: int | None) -> tuple[np.ndarray, Quant]:
    """Symmetric int8 weights, per tensor (axis None) or per channel along `axis`."""
    if axis is None:
        scale = np.array([max(float(np.abs(w).max()), 1e-12) / 127.0], np.float32)
        q = np.clip(round_half_away(w / scale[0]), -127, 127).astype(np.int8)
        return q, Quant(scale, 0)
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    scale = (np.maximum(np.abs(moved).max(axis=1), 1e-12) / 127.0).astype(np.float32)
    q = np.clip(round_half_away(w / scale.reshape(broadcast_shape(w.ndim, axis))), -127, 127).astype(np.int8)
    return q, Quant(scale, np.zeros_like(scale, dtype=np.int32), axis)


def bias_quant(input_scale: float, weight: Quant) -> Quant:
    scale = (input_scale * weight.scale.astype(np.float64)).astype(np.float32)
    return Quant(scale, np.zeros(scale.size, np.int32), 0 if scale.size > 1 else None)


def quantize_bias(b: np.ndarray, q: Quant) -> np.ndarray:
    real = round_half_away(b.astype(np.float64) / q.scale.astype(np.float64))
    return np.clip(real, INT32_MIN, INT32_MAX).astype(np.int32)


def round_half_away(x: np.ndarray) -> np.ndarray:
    """std::round, as TFLite's quantizer rounds (NumPy's np.round goes to even on halves)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_values(x: np.ndarray, q: Quant) -> np.ndarray:
    """Float -> int8 with a per-tensor quantization, as TFLite's Quantize op."""
    return np.clip(round_half_away(np.asarray(x, np.float64) / q.s) + q.zp, -128, 127).astype(np.int8)


def dequantize_values(x: np.ndarray, q: Quant) -> np.ndarray:
    """int -> float64; per channel along q.axis of x (a constant, without batch axis)."""
    if not q.per_channel:
        return (x.astype(np.float64) - q.zp) * q.s
    shape = broadcast_shape(x.ndim, q.axis)
    return (x.astype(np.float64) - q.zero_point.reshape(shape)) * q.scale.astype(np.float64).reshape(shape)


def broadcast_shape(ndim: int, axis: int) -> list[int]:
    shape = [1] * ndim
    shape[axis] = -1
    return shape
