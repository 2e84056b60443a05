"""Helpers shared by the op modules: window geometry, patch extraction, requantization, activations."""

from __future__ import annotations

import numpy as np

from tinyc.errors import GraphError, shown
from tinyc.ir import Graph, Node, Quant
from tinyc.numerics import activation_range

ACTIVATIONS = ("none", "relu", "relu6", "relu_n1_to_1")
MAX_WINDOW = 1 << 16  # kernel size, stride and dilation of a windowed op
MULTIPLIER_MAX = 2.0**31  # a requantization multiplier the kernels represent (Q31 with a shift of at most 31)
FLOAT_BOUNDS = {"none": (-np.inf, np.inf), "relu": (0.0, np.inf), "relu6": (0.0, 6.0), "relu_n1_to_1": (-1.0, 1.0)}
FLT_MAX = float(np.finfo(np.float32).max)


def window_out_size(size: int, k: int, stride: int, dilation: int, pad_before: int, pad_after: int) -> int:
    return (size + pad_before + pad_after - ((k - 1) * dilation + 1)) // stride + 1


def same_padding(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite SAME padding (ComputePaddingHeightWidth): the odd pixel goes after."""
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def patches(x: np.ndarray, kh: int, kw: int, stride: tuple[int, int], dilation: tuple[int, int],
            pads: tuple[int, int, int, int], pad_value: float | int) -> np.ndarray:
    """(N, H, W, C) -> view (N, OH, OW, C, KH, KW) of the windows, borders padded with pad_value."""
    top, left, bottom, right = pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=pad_value)
    eff_h, eff_w = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (eff_h, eff_w), axis=(1, 2))
    return win[:, :: stride[0], :: stride[1], :, :: dilation[0], :: dilation[1]]


def quant(graph: Graph, name: str, node: Node) -> Quant:
    q = graph.tensor(name).quant
    if q is None:
        raise GraphError(f"node '{shown(node.name)}' ({node.op}): int8 tensor '{shown(name)}' has no quantization "
                         "parameters")
    return q


def is_int8(graph: Graph, node: Node) -> bool:
    return graph.tensor(node.inputs[0]).dtype == "int8"


def activation_of(node: Node) -> str:
    act = node.attrs.get("activation", "none")
    if act not in ACTIVATIONS:
        raise GraphError(f"node '{shown(node.name)}' ({node.op}) has unknown activation '{shown(act)}'")
    return act


def output_bounds(node: Node, graph: Graph) -> dict[str, int | float]:
    """Clamp bounds of the fused activation: integers for int8 outputs, floats otherwise."""
    act = activation_of(node)
    out = graph.tensor(node.outputs[0])
    if out.dtype == "int8":
        q = quant(graph, out.name, node)
        lo, hi = activation_range(act, q.s, q.zp)
        return {"act_min": lo, "act_max": hi}
    lo_f, hi_f = FLOAT_BOUNDS[act]
    return {"act_min": float(lo_f), "act_max": float(hi_f)}


def tflm_output_bounds(node: Node, graph: Graph) -> dict[str, int | float]:
    """output_bounds of an op whose TFLM float kernel clamps with CalculateActivationRange's bounds (conv,
    depthwise, fully connected, pooling, add): no activation (and RELU's top) is +-FLT_MAX, not infinity, so an
    output that overflows is FLT_MAX. NaN passes the clamp, as TFLM's min(max(x, lo), hi) (see _float.clamp)."""
    bounds = output_bounds(node, graph)
    if graph.tensor(node.outputs[0]).dtype != "float32":
        return bounds
    return {k: min(max(float(v), -FLT_MAX), FLT_MAX) for k, v in bounds.items()}


def batch_view(x: np.ndarray, ir_rank: int) -> np.ndarray:
    """Fold the runtime batch axis into the IR's leading dimension: (N, 1, ...) -> (N, ...)."""
    return x.reshape((-1,) + x.shape[x.ndim - ir_rank + 1:])


def window_geometry(node: Node, graph: Graph, kh: int, kw: int) -> dict[str, int]:
    x = graph.tensor(node.inputs[0])
    y = graph.tensor(node.outputs[0])
    sh, sw = node.attrs.get("stride", (1, 1))
    dh, dw = node.attrs.get("dilation", (1, 1))
    top, left, bottom, right = node.attrs.get("pads", (0, 0, 0, 0))
    return {"batches": x.shape[0], "in_h": x.shape[1], "in_w": x.shape[2], "in_c": x.shape[3],
            "out_h": y.shape[1], "out_w": y.shape[2], "out_c": y.shape[3],
            "k_h": kh, "k_w": kw, "stride_h": sh, "stride_w": sw, "dil_h": dh, "dil_w": dw,
            "pad_top": top, "pad_left": left, "pad_bottom": bottom, "pad_right": right}


def check_window(node: Node, graph: Graph, kh: int, kw: int, out_c: int) -> None:
    x = graph.tensor(node.inputs[0])
    y = graph.tensor(node.outputs[0])
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise GraphError(f"node '{shown(node.name)}' ({node.op}) needs 4-D NHWC input and output, "
                         f"got {list(x.shape)} -> {list(y.shape)}")
    g = window_geometry(node, graph, kh, kw)
    activation_of(node)
    if not all(isinstance(v, int | np.integer) for v in [*g.values(), kh, kw]):
        raise GraphError(f"node '{shown(node.name)}' ({node.op}) has a non-integer window parameter")
    if min(g["stride_h"], g["stride_w"], g["dil_h"], g["dil_w"], kh, kw) < 1:
        raise GraphError(f"node '{shown(node.name)}' ({node.op}) has a kernel size, stride or dilation below 1")
    if max(g["stride_h"], g["stride_w"], g["dil_h"], g["dil_w"], kh, kw) > MAX_WINDOW:
        raise GraphError(f"node '{shown(node.name)}' ({node.op}) has a kernel size, stride or dilation above "
                         f"{MAX_WINDOW}")
    if min(g["pad_top"], g["pad_left"], g["pad_bottom"], g["pad_right"]) < 0:
        raise GraphError(f"node '{shown(node.name)}' ({node.op}) has negative padding")
    eff_h, eff_w = (kh - 1) * g["dil_h"] + 1, (kw - 1) * g["dil_w"] + 1
    if max(g["pad_top"], g["pad_bottom"]) >= eff_h or max(g["pad_left"], g["pad_right"]) >= eff_w:
        raise GraphError(f"node '{shown(node.name)}' ({node.op}) pads by as much as its window ({eff_h}x{eff_w}) "
                         "or more: a window would hold no input")
    oh = window_out_size(g["in_h"], kh, g["stride_h"], g["dil_h"], g["pad_top"], g["pad_bottom"])
    ow = window_out_size(g["in_w"], kw, g["stride_w"], g["dil_w"], g["pad_left"], g["pad_right"])
    expected = (x.shape[0], oh, ow, out_c)
    if y.shape != expected:
        raise GraphError(f"node '{shown(node.name)}' ({node.op}) output shape {list(y.shape)}, expected "
                         f"{list(expected)}")


def _fail(node: Node, message: str) -> GraphError:
    return GraphError(f"node '{shown(node.name)}' ({node.op}): {message}")


def check_multiplier(node: Node, real: float | np.ndarray, what: str) -> None:
    """A requantization multiplier (e.g. in_scale * w_scale / out_scale) must be one the kernels represent."""
    values = np.atleast_1d(np.asarray(real, np.float64))
    bad = values[~(np.isfinite(values) & (values >= 0) & (values < MULTIPLIER_MAX))]
    if bad.size:
        raise _fail(node, f"{what} {float(bad[0]):g} is outside what the int8 kernels represent (0..2**31)")


def check_same(node: Node, graph: Graph) -> None:
    """Output 0 has the shape and dtype of input 0 (element-wise ops)."""
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    if x.shape != y.shape or x.dtype != y.dtype:
        raise _fail(node, f"output {y.dtype}{list(y.shape)} differs from input {x.dtype}{list(x.shape)}")


def check_weighted(node: Node, graph: Graph, n_out: int, channel_axis: int) -> None:
    """conv2d / depthwise_conv2d / fully_connected: bias and, for int8, weight quantization and multipliers."""
    x, w, y = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
    int8 = x.dtype == "int8"
    if int8 and w.dtype != "int8":
        raise _fail(node, f"int8 activations need int8 weights, got {w.dtype}")
    if not int8 and w.dtype not in ("float32", "int8"):
        raise _fail(node, f"float activations need float32 (or hybrid int8) weights, got {w.dtype}")
    if len(node.inputs) > 2 and node.inputs[2]:
        b = graph.tensor(node.inputs[2])
        want = "int32" if int8 else "float32"
        if not b.is_const or b.size != n_out or b.dtype != want:
            raise _fail(node, f"bias '{shown(b.name)}' must be a constant of {n_out} {want} values, got "
                              f"{'a constant' if b.is_const else 'an activation'} {b.dtype}{list(b.shape)}")
    if w.dtype != "int8":
        return
    qw = quant(graph, w.name, node)
    if qw.scale.size not in (1, n_out) or (qw.scale.size > 1 and qw.axis != channel_axis):
        raise _fail(node, f"weights '{shown(w.name)}' have {qw.scale.size} scales (axis {qw.axis}) for {n_out} "
                          f"output channels on axis {channel_axis}")
    if np.any(qw.zero_point != 0):
        raise _fail(node, "int8 weights must be symmetric (zero point 0)")
    if int8:
        s_in, s_out = quant(graph, x.name, node).s, quant(graph, y.name, node).s
        check_multiplier(node, s_in * qw.scale.astype(np.float64) / s_out, "requantization multiplier")
