"""ONNX Erf, Gelu's erf form and Pow with an exponent that differs between elements, onto tinyc's erf and pow ops
(tinyc/ops/erf.py, tinyc/ops/power.py). Gelu's tanh form and a uniform exponent keep onnx_ops' lowerings."""

from __future__ import annotations

import math

import numpy as np

from tinyc.frontends import onnx_ops
from tinyc.frontends.onnx import _const_input, _Converter, _Ctx, _unsupported
from tinyc.frontends.onnx_ops import _const, _emit, _input, _temp


def _erf(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    layout = c.preferred(src)
    out = c.new_value(x.outputs[0], c.shapes[src], layout)
    c._add_node("erf", x.name, [c.get(src, layout)], [out], {})


def _gelu(c: _Converter, x: _Ctx) -> None:
    """approximate='none': 0.5 * x * (1 + erf(x * (1 / sqrt(2))))."""
    if x.attrs.get("approximate", "none") == "tanh":
        onnx_ops._gelu(c, x)
        return
    src = _input(c, x)
    shape = c.shapes[src]
    ir = c.get(src, "onnx")
    e = _temp(c, x, "erf", [_temp(c, x, "mul", [ir, _const(c, x, 1.0 / math.sqrt(2.0))], shape)], shape)
    half_x = _temp(c, x, "mul", [ir, _const(c, x, 0.5)], shape)
    _emit(c, x, "mul", [half_x, _temp(c, x, "add", [e, _const(c, x, 1.0)], shape)], shape)


def _pow(c: _Converter, x: _Ctx) -> None:
    """A constant exponent that differs between elements: the pow op on it broadcast to the input's shape."""
    e = _const_input(c, x, 1, "exponent")
    if e is None or e.size == 0 or np.all(e == e.reshape(-1)[0]):
        onnx_ops._pow(c, x)
        return
    src = _input(c, x)
    shape = c.shapes[src]
    if tuple(np.broadcast_shapes(shape, e.shape)) != shape:
        raise _unsupported(c, x, f"an exponent of shape {list(e.shape)} that broadcasts the input")
    exponent = c.const(f"{x.name}_exponent", np.ascontiguousarray(np.broadcast_to(e.astype(np.float32), shape)))
    _emit(c, x, "pow", [c.get(src, "onnx"), exponent], shape)


CONVERTERS = {"Erf": _erf, "Gelu": _gelu, "Pow": _pow}
