"""ONNX TopK with a constant k (the input from opset 10, the attribute before) onto tinyc's top_k op
(tinyc/ops/top_k.py). sorted=0 leaves the order to the implementation; tinyc's sorted order is one."""

from __future__ import annotations

from tinyc.frontends.onnx import _const_input, _Converter, _Ctx, _unsupported
from tinyc.frontends.onnx_ops import _axis, _dtype, _input


def _top_k(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    if _dtype(c, src) != "float32":
        raise _unsupported(c, x, f"a {_dtype(c, src)} input (float32 only)")
    k_in = _const_input(c, x, 1, "k")  # opset 10+; before, the attribute k
    if k_in is not None and k_in.size != 1:
        raise _unsupported(c, x, f"k of shape {list(k_in.shape)} (one value expected)")
    k = int(k_in.reshape(-1)[0]) if k_in is not None else int(x.attrs.get("k", 0))
    axis = _axis(c, x, int(x.attrs.get("axis", -1)), len(shape))
    if not 1 <= k <= shape[axis]:
        raise _unsupported(c, x, f"k={k} outside 1..{shape[axis]} (the axis length)")
    out_shape = shape[:axis] + (k,) + shape[axis + 1:]
    values = c.new_value(x.outputs[0], out_shape)
    indices = c.new_value(x.outputs[1], out_shape, dtype="int64")
    c._add_node("top_k", x.name, [c.get(src, "onnx")], [values, indices],
                {"axis": axis, "k": k, "largest": bool(x.attrs.get("largest", 1))})


CONVERTERS = {"TopK": _top_k}
