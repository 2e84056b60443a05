"""ONNX MaxPool / AveragePool / LpPool cases the 2-D NHWC pools do not take, onto POOL_ND (tinyc/ops/pool_nd.py):
3-D windows, dilation, MaxPool's Indices output, AveragePool's count_include_pad=1 with ceil_mode=1. The rest keeps
the NHWC lowering of tinyc/frontends/onnx.py."""

from __future__ import annotations

from collections.abc import Callable

from tinyc.errors import shown
from tinyc.frontends import onnx_ops
from tinyc.frontends.onnx import _activation_input, _Converter, _Ctx, _fail, _pool, _unsupported
from tinyc.ops.pool_nd import DIMS, out_size


def _ints(c: _Converter, x: _Ctx, key: str, dims: int, default: int) -> tuple[int, ...]:
    v = tuple(int(a) for a in x.attrs.get(key, (default,) * dims))
    if len(v) != dims:
        raise _fail(c, x, f"{key} {list(v)} should have {dims} values")
    return v


def _pads(c: _Converter, x: _Ctx, size: tuple[int, ...], k: tuple[int, ...], stride: tuple[int, ...],
          dil: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """(begin, end) pads per spatial dim from ONNX pads [x1_begin, ..., x1_end, ...] or auto_pad."""
    dims = len(size)
    auto = x.attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if auto == "NOTSET":
        pads = list(_ints(c, x, "pads", 2 * dims, 0))
        if min(pads) < 0:
            raise _unsupported(c, x, "negative padding")
        return pads[:dims], pads[dims:]
    if auto == "VALID":
        return [0] * dims, [0] * dims
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise _fail(c, x, f"unknown auto_pad '{shown(auto)}'")
    before, after = [], []
    for n, kk, s, d in zip(size, k, stride, dil, strict=True):
        total = max((-(-n // s) - 1) * s + (kk - 1) * d + 1 - n, 0)
        small, big = total // 2, total - total // 2
        before.append(small if auto == "SAME_UPPER" else big)
        after.append(big if auto == "SAME_UPPER" else small)
    return before, after


def _window(c: _Converter, x: _Ctx, mode: str, shape: tuple[int, ...]) -> tuple[dict, tuple[int, ...]]:
    """POOL_ND's attributes and output shape for this node's window on an input of ONNX shape `shape`."""
    dims = len(shape) - 2
    if not 1 <= dims <= DIMS:
        raise _unsupported(c, x, f"{len(shape)}-D input; only 1-D to {DIMS}-D windows are supported")
    size = tuple(shape[2:])
    k = _ints(c, x, "kernel_shape", dims, 1)
    stride, dil = _ints(c, x, "strides", dims, 1), _ints(c, x, "dilations", dims, 1)
    begin, end = _pads(c, x, size, k, stride, dil)
    count_end = list(end)
    out = [out_size(*v) for v in zip(size, k, stride, dil, begin, end, strict=True)]
    if x.attrs.get("ceil_mode", 0):
        for i in range(dims):
            span = size[i] + begin[i] + end[i] - ((k[i] - 1) * dil[i] + 1)
            o = -(-span // stride[i]) + 1
            if (o - 1) * stride[i] >= size[i] + begin[i]:  # a window may not start in the end padding
                o -= 1
            end[i] += max((o - 1) * stride[i] + (k[i] - 1) * dil[i] + 1 - (size[i] + begin[i] + end[i]), 0)
            out[i] = o
    attrs = {"mode": mode, "kernel": k, "stride": stride, "dilation": dil, "pads_begin": tuple(begin),
             "pads_end": tuple(end), "count_end": tuple(count_end),
             "count_include_pad": mode == "avg" and bool(x.attrs.get("count_include_pad", 0)),
             "storage_order": int(x.attrs.get("storage_order", 0))}
    return attrs, (*shape[:2], *out)


def _generic(c: _Converter, x: _Ctx, mode: str) -> None:
    src = _activation_input(c, x)
    attrs, out_shape = _window(c, x, mode, c.shapes[src])
    outputs = [c.new_value(x.outputs[0], out_shape)]
    if len(x.outputs) > 1 and x.outputs[1]:
        outputs.append(c.new_value(x.outputs[1], out_shape, dtype="int64"))
    c._add_node("pool_nd", x.name, [c.get(src, "onnx")], outputs, attrs)


def _pool_or_generic(ir_op: str, mode: str) -> Callable[[_Converter, _Ctx], None]:
    nhwc = _pool(ir_op)

    def convert(c: _Converter, x: _Ctx) -> None:
        src = _activation_input(c, x)
        dims = len(c.shapes[src]) - 2
        dilated = any(int(d) != 1 for d in x.attrs.get("dilations", ()))
        indices = len(x.outputs) > 1 and bool(x.outputs[1])
        include_pad_ceil = mode == "avg" and x.attrs.get("count_include_pad", 0) and x.attrs.get("ceil_mode", 0)
        if dims == 3 or dilated or indices or include_pad_ceil:
            _generic(c, x, mode)
        else:
            nhwc(c, x)
    return convert


def _lp_pool(c: _Converter, x: _Ctx) -> None:
    """3-D or dilated LpPool: |x| multiplied p times, POOL_ND's window sum, then the root as onnx_ops' LpPool
    (sqrt for p = 2, exp(log(sum) / p) above)."""
    src = _activation_input(c, x)
    shape = c.shapes[src]
    dilated = any(int(d) != 1 for d in x.attrs.get("dilations", ()))
    if len(shape) != 5 and not dilated:
        onnx_ops._lp_pool(c, x)
        return
    p = int(x.attrs.get("p", 2))
    if not 1 <= p <= onnx_ops.MAX_LP:
        raise _unsupported(c, x, f"p={p}; only 1 to {onnx_ops.MAX_LP}")
    attrs, out_shape = _window(c, x, "sum", shape)
    magnitude = onnx_ops._temp(c, x, "abs", [c.get(src, "onnx")], shape)
    powered = magnitude if p == 1 else onnx_ops._temp(c, x, "square", [magnitude], shape)
    for _ in range(p - 2):
        powered = onnx_ops._temp(c, x, "mul", [powered, magnitude], shape)
    if p == 1:
        onnx_ops._emit(c, x, "pool_nd", [powered], out_shape, attrs)
        return
    total = onnx_ops._temp(c, x, "pool_nd", [powered], out_shape, attrs)
    if p == 2:
        onnx_ops._emit(c, x, "sqrt", [total], out_shape)
        return
    log = onnx_ops._temp(c, x, "log", [total], out_shape)
    onnx_ops._emit(c, x, "exp", [onnx_ops._temp(c, x, "div", [log, onnx_ops._const(c, x, float(p))], out_shape)],
                   out_shape)


CONVERTERS = {"LpPool": _lp_pool,"MaxPool": _pool_or_generic("max_pool2d", "max"),
              "AveragePool": _pool_or_generic("avg_pool2d", "avg")}
