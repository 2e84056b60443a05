"""TFLite's 16x8 scheme for the weighted ops (conv2d, depthwise_conv2d, fully_connected): int16 activations with
zero point 0, int8 symmetric weights, as TFLM's reference_integer_ops kernels for int16 input.

TFLM picks the accumulator by the bias type: an int64 bias (the converter's) or none accumulates in int64 and
requantizes with the int64 MultiplyByQuantizedMultiplier (the multiplier rounded to 16 bits, one rounding
shift of 15 - shift, the result truncated to 32 bits); an int32 bias (conv and fully connected only)
accumulates in int32 and requantizes with the int32 one (tinyc_mbqm). (Without a bias the tflite_micro build
the tests run takes the int64 path; tests/test_int16_ops.py tells the two apart.) Lowering stores, per output
channel, the 16-bit multiplier and the total shift (int64) or the Q31 multiplier and shift (int32) as
`rq_mult` / `rq_shift`; both paths refuse accumulators that could leave TFLM's range (2**47 or 2**31).
"""

from __future__ import annotations

import numpy as np

from tinyc.errors import GraphError, shown
from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import activation_range, multiply_by_quantized_multiplier, wrap_int32
from tinyc.ops._common import activation_of, batch_view, check_multiplier, patches, quant

WITH_INT16 = frozenset({("int8", "int8"), ("float32", "float32"), ("int16", "int16")})
ACC_LIMIT = {True: 2**47, False: 2**31}  # int64 accumulator (TFLM's assumption), int32 accumulator


def _fail(node: Node, message: str) -> GraphError:
    return GraphError(f"node '{shown(node.name)}' ({node.op}): {message}")


def bias_of(graph: Graph, node: Node) -> np.ndarray | None:
    return graph.tensor(node.inputs[2]).data if len(node.inputs) > 2 and node.inputs[2] else None


def check_s16(node: Node, graph: Graph, n_out: int, channel_axis: int, int32_bias: bool) -> None:
    """int16 activations: zero points 0, int8 symmetric weights, an int64 bias (or int32 where TFLM has it)."""
    x, w, y = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
    if w.dtype != "int8" or y.dtype != "int16":
        raise _fail(node, f"int16 activations need int8 weights and an int16 output, got {w.dtype} -> {y.dtype}")
    qi, qo, qw = quant(graph, x.name, node), quant(graph, y.name, node), quant(graph, w.name, node)
    if qi.zp != 0 or qo.zp != 0:
        raise _fail(node, f"int16 activations need zero point 0 (input {qi.zp}, output {qo.zp})")
    if qw.scale.size not in (1, n_out) or (qw.scale.size > 1 and qw.axis != channel_axis):
        raise _fail(node, f"weights '{shown(w.name)}' have {qw.scale.size} scales (axis {qw.axis}) for {n_out} "
                          f"output channels on axis {channel_axis}")
    if np.any(qw.zero_point != 0):
        raise _fail(node, "int8 weights must be symmetric (zero point 0)")
    activation_of(node)
    if len(node.inputs) > 2 and node.inputs[2]:
        b = graph.tensor(node.inputs[2])
        kinds = ("int64", "int32") if int32_bias else ("int64",)
        if not b.is_const or b.size != n_out or b.dtype not in kinds:
            raise _fail(node, f"bias '{shown(b.name)}' must be a constant of {n_out} {' or '.join(kinds)} values "
                              f"(int16 activations), got {'a constant' if b.is_const else 'an activation'} "
                              f"{b.dtype}{list(b.shape)}")
    check_multiplier(node, qi.s * qw.scale.astype(np.float64) / qo.s, "requantization multiplier")


def lower_s16(step: Step, graph: Graph, node: Node, weights: np.ndarray, channel_axis: int, mult: np.ndarray,
              shift: np.ndarray) -> None:
    """Fill an int16 step: kernel <op>_s16, weights, int64 or int32 bias, the requantization of its path."""
    bias = bias_of(graph, node)
    acc64 = bias is None or bias.dtype == np.int64
    n_out = weights.shape[channel_axis]
    w_abs = np.abs(np.moveaxis(weights.astype(np.int64), channel_axis, 0)).reshape(n_out, -1).sum(axis=1)
    b = np.zeros(n_out, np.int64) if bias is None else bias.astype(np.int64).reshape(-1)
    if int((32768 * w_abs + np.abs(b)).max()) >= ACC_LIMIT[acc64]:
        raise _fail(node, f"an accumulator could exceed TFLM's {'int64 (2**47)' if acc64 else 'int32'} range")
    if acc64:
        if int(shift.max()) >= 8:
            raise _fail(node, f"requantization shift {int(shift.max())} is beyond TFLM's int64 requantization (< 8)")
        m = mult.astype(np.int64)
        rq_mult = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF).astype(np.int32)
        rq_shift = (15 - shift.astype(np.int64)).astype(np.int32)
    else:
        rq_mult, rq_shift = mult, shift
    qo = quant(graph, node.outputs[0], node)
    lo, hi = activation_range(activation_of(node), qo.s, qo.zp, "int16")
    step.kernel = f"{node.op}_s16"
    step.params |= {"act_min": lo, "act_max": hi, "acc64": acc64, "batches": graph.tensor(node.inputs[0]).shape[0]}
    step.consts = {"weights": weights, "bias": b if acc64 else b.astype(np.int32),
                   "rq_mult": rq_mult, "rq_shift": rq_shift}


def int16_bounds(node: Node, graph: Graph) -> dict[str, int]:
    """The fused activation's clamp bounds for an int16 output."""
    q = quant(graph, node.outputs[0], node)
    lo, hi = activation_range(activation_of(node), q.s, q.zp, "int16")
    return {"act_min": lo, "act_max": hi}


def requantize(acc: np.ndarray, step: Step) -> np.ndarray:
    """int64 accumulators (output channel last) -> int16 outputs, as the step's TFLM path."""
    p, c = step.params, step.consts
    acc = acc + c["bias"].astype(np.int64)
    if p["acc64"]:
        ts = c["rq_shift"].astype(np.int64)
        v = wrap_int32((acc * c["rq_mult"].astype(np.int64) + (np.int64(1) << (ts - 1))) >> ts)
    else:
        v = multiply_by_quantized_multiplier(acc, c["rq_mult"], c["rq_shift"])
    return np.clip(v, p["act_min"], p["act_max"]).astype(np.int16)


def _windows(step: Step, x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) int16 -> (N, OH, OW, C, KH, KW) int64 windows, zero outside the image (TFLM skips them)."""
    p = step.params
    return patches(x.astype(np.int64), p["k_h"], p["k_w"], (p["stride_h"], p["stride_w"]), (p["dil_h"], p["dil_w"]),
                   (p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"]), 0)


def exact_dot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x (..., K) int16 values @ w (O, K) int8 values, exactly: float64 (BLAS) holds every partial sum of
    products below 2**22 exactly while K < 2**31."""
    return np.rint(x.astype(np.float64) @ w.astype(np.float64).T).astype(np.int64)


def run_conv2d_s16(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    win = _windows(step, batch_view(inputs[0], 4))  # (N, OH, OW, C, KH, KW)
    w = step.consts["weights"]  # (O, KH, KW, C)
    acc = exact_dot(win.transpose(0, 1, 2, 4, 5, 3).reshape(*win.shape[:3], -1), w.reshape(w.shape[0], -1))
    out = requantize(acc, step)
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


def run_depthwise_conv2d_s16(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    win = np.repeat(_windows(step, batch_view(inputs[0], 4)), step.params["depth_multiplier"], axis=3)
    w = step.consts["weights"].astype(np.int64)  # (KH, KW, O)
    acc = np.zeros(win.shape[:4], np.int64)
    for ky in range(w.shape[0]):
        for kx in range(w.shape[1]):
            acc += win[..., ky, kx] * w[ky, kx]
    out = requantize(acc, step)
    return [out.reshape(inputs[0].shape[:-3] + out.shape[1:])]


def run_fully_connected_s16(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    out = requantize(exact_dot(inputs[0].reshape(-1, p["depth"]), step.consts["weights"]), step)
    return [out.reshape((inputs[0].shape[0],) + tuple(p["out_shape"]))]
