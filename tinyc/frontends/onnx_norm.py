"""ONNX LayerNormalization, InstanceNormalization and LpNormalization as chains of IR ops, in the order of
operations of ONNX's reference (onnx.reference): mean, difference, variance, sqrt(var + eps), reciprocal,
scale and bias. Scale and bias must be constants (an MCU model's weights)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyc.frontends.onnx import _const_input, _Converter, _Ctx, _fail, _unsupported
from tinyc.frontends.onnx_ops import _axis, _const, _emit, _input, _temp


def _standardize(c: _Converter, x: _Ctx, src: str, axes: tuple[int, ...], eps: float,
                 stats: tuple[str, str] = ("", "")) -> str:
    """(x - mean) * 1 / sqrt(var + eps) over `axes`; `stats` names ONNX outputs for the mean and 1 / std."""
    shape = c.shapes[src]
    reduced = tuple(1 if i in axes else d for i, d in enumerate(shape))
    attrs = {"axes": axes, "keep_dims": True}
    ir = c.get(src, "onnx")
    mean = (_emit(c, x, "mean", [ir], reduced, attrs, out=stats[0]) if stats[0]
            else _temp(c, x, "mean", [ir], reduced, attrs))
    diff = _temp(c, x, "sub", [ir, mean], shape)
    var = _temp(c, x, "mean", [_temp(c, x, "square", [diff], shape)], reduced, attrs)
    std = _temp(c, x, "sqrt", [_temp(c, x, "add", [var, _const(c, x, eps)], reduced)], reduced)
    one = _const(c, x, 1.0)
    inv = (_emit(c, x, "div", [one, std], reduced, out=stats[1]) if stats[1]
           else _temp(c, x, "div", [one, std], reduced))
    return _temp(c, x, "mul", [diff, inv], shape)


def _affine(c: _Converter, x: _Ctx, y: str, shape: tuple[int, ...], scale: np.ndarray, bias: np.ndarray | None,
            param_shape: tuple[int, ...]) -> None:
    try:
        scale = np.broadcast_to(np.asarray(scale, np.float32), param_shape)
        bias = None if bias is None else np.broadcast_to(np.asarray(bias, np.float32), param_shape)
    except ValueError:
        raise _fail(c, x, f"scale / bias do not broadcast to {list(param_shape)}") from None
    scaled_op = _emit if bias is None else _temp
    y = scaled_op(c, x, "mul", [y, c.typed_const(f"{x.name}_scale", np.ascontiguousarray(scale))], shape)
    if bias is not None:
        _emit(c, x, "add", [y, c.typed_const(f"{x.name}_bias", np.ascontiguousarray(bias))], shape)


def _layer_norm(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    rank = len(shape)
    if int(x.attrs.get("stash_type", 1)) != 1:
        raise _unsupported(c, x, "stash_type other than float32")
    axis = _axis(c, x, int(x.attrs.get("axis", -1)), rank)
    scale, bias = _const_input(c, x, 1, "scale"), _const_input(c, x, 2, "bias")
    stats = (x.outputs[1] if len(x.outputs) > 1 else "", x.outputs[2] if len(x.outputs) > 2 else "")
    y = _standardize(c, x, src, tuple(range(axis, rank)), float(x.attrs.get("epsilon", 1e-5)), stats)
    _affine(c, x, y, shape, scale, bias, shape[axis:])


def _instance_norm(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    if len(shape) < 3:
        raise _unsupported(c, x, f"a {len(shape)}-D input")
    scale, bias = _const_input(c, x, 1, "scale"), _const_input(c, x, 2, "bias")
    ch = (shape[1],) + (1,) * (len(shape) - 2)
    y = _standardize(c, x, src, tuple(range(2, len(shape))), float(x.attrs.get("epsilon", 1e-5)))
    _affine(c, x, y, shape, scale.reshape(ch), bias.reshape(ch), ch)


def _lp_norm(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    axis = _axis(c, x, int(x.attrs.get("axis", -1)), len(shape))
    p = int(x.attrs.get("p", 2))
    if p not in (1, 2):
        raise _fail(c, x, f"p={p}; ONNX allows 1 and 2")
    reduced = tuple(1 if i == axis else d for i, d in enumerate(shape))
    ir = c.get(src, "onnx")
    norm = _temp(c, x, "sum", [_temp(c, x, "abs" if p == 1 else "square", [ir], shape)], reduced,
                 {"axes": (axis,), "keep_dims": True})
    if p == 2:
        norm = _temp(c, x, "sqrt", [norm], reduced)
    # ONNX gives 0 where the norm is 0 (not 0 / 0)
    zero = _temp(c, x, "equal", [norm, _const(c, x, 0.0)], reduced, dtype="bool")
    quotient = _temp(c, x, "div", [ir, norm], shape)
    _emit(c, x, "select_v2", [zero, c.typed_const(f"{x.name}_zero", np.zeros(1, np.float32)), quotient], shape)


CONVERTERS: dict[str, Callable[[_Converter, _Ctx], None]] = {
    "LayerNormalization": _layer_norm,
    "InstanceNormalization": _instance_norm,
    "LpNormalization": _lp_norm,
}
