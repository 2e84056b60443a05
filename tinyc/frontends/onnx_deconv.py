"""ONNX ConvTranspose beyond onnx_ops' NHWC lowering.

3-D windows (5-D input) go to CONV_TRANSPOSE_ND (tinyc/ops/conv_transpose_nd.py), in ONNX layout, with ONNX's
pads, output_padding, output_shape and auto_pad. Dilated 1-D / 2-D ones: the constant kernel spread out with
zeros between its taps ((k - 1) * d + 1 wide), then onnx_ops' undilated transposed convolution. For finite inputs
that is the dilated transposed convolution, the zero taps adding 0 * x; an infinite input meets them as
0 * inf = NaN."""

from __future__ import annotations

import numpy as np

from tinyc.errors import shown
from tinyc.frontends import onnx_ops
from tinyc.frontends.onnx import _activation_input, _const_input, _Converter, _Ctx, _fail, _unsupported


def _ints(c: _Converter, x: _Ctx, key: str, dims: int, default: int) -> list[int]:
    v = [int(a) for a in x.attrs.get(key, (default,) * dims)]
    if len(v) != dims:
        raise _fail(c, x, f"{key} {v} should have {dims} values")
    return v


def _conv_transpose_3d(c: _Converter, x: _Ctx, src: str) -> None:
    shape = c.shapes[src]
    w, b = _const_input(c, x, 1, "weights"), _const_input(c, x, 2, "bias")
    group = int(x.attrs.get("group", 1))
    if w is None or w.ndim != 5 or group < 1 or shape[1] % group or w.shape[0] != shape[1]:
        raise _fail(c, x, f"weights {None if w is None else list(w.shape)} and group={group} do not fit "
                          f"{shape[1]} input channels")
    cout = int(w.shape[1]) * group
    if b is not None and b.size != cout:
        raise _fail(c, x, f"bias of {b.size} values for {cout} output channels")
    stride, dil = _ints(c, x, "strides", 3, 1), _ints(c, x, "dilations", 3, 1)
    extra = _ints(c, x, "output_padding", 3, 0)
    full = [(shape[2 + i] - 1) * stride[i] + (w.shape[2 + i] - 1) * dil[i] + 1 + extra[i] for i in range(3)]
    auto = x.attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if "output_shape" in x.attrs or auto in ("SAME_UPPER", "SAME_LOWER"):
        want = ([int(v) for v in x.attrs["output_shape"]][-3:] if "output_shape" in x.attrs
                else [shape[2 + i] * stride[i] for i in range(3)])
        totals = [full[i] - want[i] for i in range(3)]
        begin = [t - t // 2 if auto == "SAME_LOWER" else t // 2 for t in totals]
        out = want
    elif auto in ("NOTSET", "VALID"):
        pads = _ints(c, x, "pads", 6, 0) if auto == "NOTSET" else [0] * 6
        begin, out = pads[:3], [full[i] - pads[i] - pads[3 + i] for i in range(3)]
    else:
        raise _fail(c, x, f"unknown auto_pad '{shown(auto)}'")
    if min(begin) < 0 or min(out) < 1:
        raise _unsupported(c, x, "negative leading pads or an empty output")
    bias = np.zeros(cout, np.float32) if b is None else b.reshape(-1)
    inputs = [c.get(src, "onnx"), c.const(f"{x.name}_weights", w), c.const(f"{x.name}_bias", bias)]
    out_ir = c.new_value(x.outputs[0], (shape[0], cout, *out))
    c._add_node("conv_transpose_nd", x.name, inputs, [out_ir],
                {"group": group, "stride": tuple(stride), "dilation": tuple(dil), "pads_begin": tuple(begin)})


def _conv_transpose(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    if len(c.shapes[src]) == 5:
        _conv_transpose_3d(c, x, src)
        return
    dil = [int(d) for d in x.attrs.get("dilations", ())]
    if all(d == 1 for d in dil):
        onnx_ops._conv_transpose(c, x)
        return
    w = _const_input(c, x, 1, "weights")
    if w is None or w.ndim != len(dil) + 2 or min(dil) < 1:
        raise _fail(c, x, f"dilations {dil} do not fit weights {None if w is None else list(w.shape)}")
    spread = np.zeros(w.shape[:2] + tuple((k - 1) * d + 1 for k, d in zip(w.shape[2:], dil, strict=True)), w.dtype)
    spread[(slice(None), slice(None), *(slice(None, None, d) for d in dil))] = w
    name = c.fresh(f"{x.name}_dilated_weights")
    c.consts[name] = spread
    x.inputs[1] = name
    x.attrs = {**x.attrs, "dilations": [1] * len(dil)}
    x.attrs.pop("kernel_shape", None)
    onnx_ops._conv_transpose(c, x)


CONVERTERS = {"ConvTranspose": _conv_transpose}
