"""Dilated ONNX ConvTranspose: the constant kernel spread out with zeros between its taps ((k - 1) * d + 1 wide),
then onnx_ops' undilated transposed convolution. For finite inputs that is the dilated transposed convolution,
the zero taps adding 0 * x; an infinite input meets them as 0 * inf = NaN."""

from __future__ import annotations

import numpy as np

from tinyc.frontends import onnx_ops
from tinyc.frontends.onnx import _const_input, _Converter, _Ctx, _fail


def _conv_transpose(c: _Converter, x: _Ctx) -> None:
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
