"""ONNX converters for the float op set of real exports (issue 13): padding, data movement, element-wise maths,
comparisons, reductions and arg-reductions, log-softmax and depth/space rearrangements.

They work on values in ONNX layout (the IR inserts a transpose where a value is held channels-last) and map
each ONNX op onto one IR op, or a short chain of them, with ONNX's semantics per opset (attributes that
became inputs: Pad pads, Split split, Slice starts/ends, Reduce axes). What an IR op cannot express exactly is
an UnsupportedOpError naming the op, its node and the file.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tinyc.frontends.onnx import _const_input, _Converter, _Ctx, _fail, _unsupported


def _input(c: _Converter, x: _Ctx, i: int = 0) -> str:
    """The ONNX name of input i, which must be an activation."""
    name = x.input(i)
    if not name or name in c.consts:
        raise _unsupported(c, x, f"input {i} must be an activation, not a constant")
    return name


def _dtype(c: _Converter, name: str) -> str:
    return c.g.tensor(c.get(name, "onnx")).dtype


def _emit(c: _Converter, x: _Ctx, op: str, inputs: list[str], shape: tuple[int, ...], attrs: dict | None = None,
          dtype: str = "float32", out: str | None = None) -> str:
    """One IR node in ONNX layout producing ONNX value `out` (default: the node's first output)."""
    ir = c.new_value(out or x.outputs[0], shape, "onnx", dtype)
    c._add_node(op, x.name, inputs, [ir], attrs or {})
    return ir


def _tensor(name: str, shape: tuple[int, ...], dtype: str = "float32"):  # noqa: ANN202
    from tinyc.ir import Tensor

    return Tensor(name, shape or (1,), dtype)


def _temp(c: _Converter, x: _Ctx, op: str, inputs: list[str], shape: tuple[int, ...], attrs: dict | None = None,
          dtype: str = "float32") -> str:
    """An intermediate IR tensor (no ONNX name) computed by one IR node."""
    from tinyc.ir import Tensor

    name = c.fresh(f"{x.name}_{op}")
    c.g.add_tensor(Tensor(name, shape or (1,), dtype))
    c._add_node(op, x.name, inputs, [name], attrs or {})
    return name


def _axis(c: _Converter, x: _Ctx, axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise _fail(c, x, f"axis {axis} out of range for rank {rank}")
    return axis % rank if rank else 0


# --- element-wise -----------------------------------------------------------------------------------------

UNARY = {"Sigmoid": "logistic", "Tanh": "tanh", "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Neg": "neg",
         "Abs": "abs", "HardSwish": "hard_swish"}


def _unary(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    if x.op == "LeakyRelu":
        op, attrs = "leaky_relu", {"alpha": float(x.attrs.get("alpha", 0.01))}
    elif x.op == "Elu" and float(x.attrs.get("alpha", 1.0)) != 1.0:
        _scaled_elu(c, x, src, float(x.attrs["alpha"]), 1.0)
        return
    elif x.op == "Elu":
        op, attrs = "elu", {}
    else:
        op, attrs = UNARY[x.op], {}
    layout = c.preferred(src)
    out = c.new_value(x.outputs[0], c.shapes[src], layout)
    c._add_node(op, x.name, [c.get(src, layout)], [out], attrs)


def _const(c: _Converter, x: _Ctx, value: float) -> str:
    return c.typed_const(f"{x.name}_k", np.float32([value]))


def _scaled_elu(c: _Converter, x: _Ctx, src: str, alpha: float, gamma: float) -> None:
    """Elu with alpha (and Selu's gamma): gamma * (x > 0 ? x : alpha * (exp(x) - 1))."""
    shape = c.shapes[src]
    ir = c.get(src, "onnx")
    neg = _temp(c, x, "mul", [_temp(c, x, "elu", [ir], shape), _const(c, x, alpha)], shape)
    positive = _temp(c, x, "greater", [ir, _const(c, x, 0.0)], shape, dtype="bool")
    if gamma == 1.0:
        _emit(c, x, "select_v2", [positive, ir, neg], shape)
        return
    _emit(c, x, "mul", [_temp(c, x, "select_v2", [positive, ir, neg], shape), _const(c, x, gamma)], shape)


def _selu(c: _Converter, x: _Ctx) -> None:
    _scaled_elu(c, x, _input(c, x), float(x.attrs.get("alpha", 1.67326319217681884765625)),
                float(x.attrs.get("gamma", 1.05070102214813232421875)))


def _hard_sigmoid(c: _Converter, x: _Ctx) -> None:
    """max(0, min(1, alpha * x + beta)), in ONNX's order of operations."""
    src = _input(c, x)
    shape = c.shapes[src]
    t = _temp(c, x, "mul", [c.get(src, "onnx"), _const(c, x, float(x.attrs.get("alpha", 0.2)))], shape)
    t = _temp(c, x, "add", [t, _const(c, x, float(x.attrs.get("beta", 0.5)))], shape)
    _emit(c, x, "maximum", [_temp(c, x, "minimum", [t, _const(c, x, 1.0)], shape), _const(c, x, 0.0)], shape)


def clamp(c: _Converter, x: _Ctx, lo: float, hi: float) -> None:
    """Clip to [lo, hi] as ONNX (max with lo, then min with hi) for bounds no fused activation has."""
    src = _input(c, x)
    shape = c.shapes[src]
    ir = c.get(src, "onnx")
    if lo != -math.inf:
        ir = (_temp if hi != math.inf else _emit)(c, x, "maximum", [ir, _const(c, x, lo)], shape)
    if hi != math.inf:
        _emit(c, x, "minimum", [ir, _const(c, x, hi)], shape)


BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Min": "minimum", "Max": "maximum",
          "Sum": "add", "Mean": "add", "Equal": "equal", "Greater": "greater", "Less": "less",
          "GreaterOrEqual": "greater_equal", "LessOrEqual": "less_equal"}
COMPARISONS = ("Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual")


def _shape_of(c: _Converter, name: str) -> tuple[int, ...]:
    return tuple(np.shape(c.consts[name])) if name in c.consts else c.shapes[name]


def generic_binary(c: _Converter, x: _Ctx) -> None:
    """A broadcasting element-wise op of two operands (activations or constants), or a chain over n operands."""
    names = [n for n in x.inputs if n]
    if not any(n not in c.consts for n in names):
        raise _unsupported(c, x, "only constant operands")
    if x.op in COMPARISONS and any(c.consts[n].dtype != np.float32 for n in names if n in c.consts):
        raise _unsupported(c, x, "a non-float operand")
    try:
        shape = tuple(int(d) for d in np.broadcast_shapes(*(_shape_of(c, n) for n in names)))
    except ValueError:
        raise _fail(c, x, f"operand shapes {[list(_shape_of(c, n)) for n in names]} do not broadcast") from None
    op = BINARY[x.op]
    if len(names) == 1:  # Sum / Mean / Min / Max of one activation
        c.alias(x.outputs[0], names[0])
        return
    acc = c.operand(names[0], f"{x.name}_a")
    acc_shape = _shape_of(c, names[0])
    for k, n in enumerate(names[1:], 1):
        last = k == len(names) - 1 and x.op != "Mean"
        acc_shape = tuple(int(d) for d in np.broadcast_shapes(acc_shape, _shape_of(c, n)))
        args = [acc, c.operand(n, f"{x.name}_b")]
        dtype = "bool" if x.op in COMPARISONS else "float32"
        acc = (_emit(c, x, op, args, shape, dtype=dtype) if last else _temp(c, x, op, args, acc_shape, dtype=dtype))
    if x.op == "Mean":  # ONNX divides the sum by the count (not a multiply by its reciprocal)
        _emit(c, x, "div", [acc, c.typed_const(f"{x.name}_count", np.float32([len(names)]))], shape)


def _where(c: _Converter, x: _Ctx) -> None:
    cond, a, b = x.input(0), x.input(1), x.input(2)
    if a in c.consts and b in c.consts:
        raise _unsupported(c, x, "constant branches")
    if any(n in c.consts and c.consts[n].dtype != np.float32 for n in (a, b)):
        raise _unsupported(c, x, "non-float branches")
    shape = tuple(int(d) for d in np.broadcast_shapes(*(_shape_of(c, n) for n in (cond, a, b))))
    args = [c.operand(cond, f"{x.name}_cond"), c.operand(a, f"{x.name}_x"), c.operand(b, f"{x.name}_y")]
    _emit(c, x, "select_v2", args, shape)


def _reciprocal(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    one = c.typed_const(f"{x.name}_one", np.float32([1.0]))
    _emit(c, x, "div", [one, c.get(src, "onnx")], c.shapes[src])


def _prelu(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    slope = _const_input(c, x, 1, "slope")
    shape = c.shapes[src]
    try:
        full = np.broadcast_shapes(shape, slope.shape)
    except ValueError:
        raise _fail(c, x, f"slope {list(slope.shape)} does not broadcast to {list(shape)}") from None
    if tuple(full) != shape:
        raise _fail(c, x, f"slope {list(slope.shape)} broadcasts the input {list(shape)}")
    alpha = np.asarray(slope, np.float32).reshape((1,) * (len(shape) - slope.ndim) + slope.shape)
    _emit(c, x, "prelu", [c.get(src, "onnx"), c.typed_const(f"{x.name}_slope", alpha)], shape)


# --- data movement ----------------------------------------------------------------------------------------

def _pad(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    rank = len(shape)
    mode = x.attrs.get("mode", "constant")
    if c.opset < 11:
        pads, value = [int(p) for p in x.attrs.get("pads", x.attrs.get("paddings", []))], float(x.attrs.get("value", 0))
        axes = list(range(rank))
    else:
        p = _const_input(c, x, 1, "pads")
        v = _const_input(c, x, 2, "constant_value")
        a = _const_input(c, x, 3, "axes")
        if p is None:
            raise _fail(c, x, "no pads")
        pads, value = [int(q) for q in p.reshape(-1)], float(v.reshape(-1)[0]) if v is not None and v.size else 0.0
        axes = list(range(rank)) if a is None else [_axis(c, x, int(q), rank) for q in a.reshape(-1)]
    if len(pads) != 2 * len(axes):
        raise _fail(c, x, f"pads {pads} should have {2 * len(axes)} values")
    pairs = [(0, 0)] * rank
    for k, ax in enumerate(axes):
        pairs[ax] = (pads[k], pads[k + len(axes)])
    if any(a < 0 or b < 0 for a, b in pairs):
        raise _unsupported(c, x, "negative pads (cropping)")
    out_shape = tuple(d + a + b for d, (a, b) in zip(shape, pairs, strict=True))
    if mode == "constant":
        op, attrs = "pad", {"pads": tuple(pairs), "value": value}
    elif mode == "reflect":
        if any(a >= d or b >= d for d, (a, b) in zip(shape, pairs, strict=True)):
            raise _unsupported(c, x, f"reflect pads {pairs} as wide as the input {list(shape)}")
        op, attrs = "mirror_pad", {"pads": tuple(pairs), "mode": "reflect"}
    else:
        raise _unsupported(c, x, f"mode '{mode}'; only constant and reflect")
    layout = "onnx"
    if rank == 4 and "nhwc" in c.vals[src]:  # pad channels-last (MobileNet exports pad before a conv)
        layout = "nhwc"
        perm = (0, 2, 3, 1)
        attrs["pads"] = tuple(pairs[p] for p in perm)
    out = c.new_value(x.outputs[0], out_shape, layout)
    c._add_node(op, x.name, [c.get(src, layout)], [out], attrs)


def _concat(c: _Converter, x: _Ctx) -> None:
    names = [n for n in x.inputs if n]
    if all(n in c.consts for n in names):
        raise _unsupported(c, x, "only constant inputs")
    first = _shape_of(c, next(n for n in names if n not in c.consts))
    axis = _axis(c, x, int(x.attrs.get("axis", 1 if c.opset < 4 else 0)), len(first))
    shapes = [_shape_of(c, n) for n in names]
    names = [n for n, s in zip(names, shapes, strict=True) if math.prod(s)]  # ONNX allows empty inputs
    out = list(first)
    out[axis] = sum(s[axis] for s in shapes)
    inputs = [c.operand(n, f"{x.name}_const") for n in names]
    if len(inputs) == 1:
        c.alias(x.outputs[0], names[0])
        return
    _emit(c, x, "concatenation", inputs, tuple(out), {"axis": axis, "activation": "none"})


def _split(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    axis = _axis(c, x, int(x.attrs.get("axis", 0)), len(shape))
    n = len(x.outputs)
    if c.opset < 13:
        sizes = [int(s) for s in x.attrs.get("split", [])]
    else:
        s = _const_input(c, x, 1, "split")
        sizes = [] if s is None else [int(v) for v in s.reshape(-1)]
    if not sizes:
        parts = int(x.attrs.get("num_outputs", n))
        step = -(-shape[axis] // parts)
        sizes = [min(step, shape[axis] - k * step) for k in range(parts)]
    if len(sizes) != n or sum(sizes) != shape[axis] or min(sizes) <= 0:
        raise _unsupported(c, x, f"split sizes {sizes} of axis {axis} (length {shape[axis]}) into {n} outputs")
    outs = []
    for out, size in zip(x.outputs, sizes, strict=True):
        s = list(shape)
        s[axis] = size
        outs.append(c.new_value(out, tuple(s)))
    c._add_node("split_v", x.name, [c.get(src, "onnx")], outs, {"axis": axis, "size_splits": tuple(sizes)})


def _slice(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    rank = len(shape)
    if c.opset < 10:
        starts, ends = x.attrs["starts"], x.attrs["ends"]
        axes, steps = x.attrs.get("axes", range(len(starts))), [1] * len(starts)
    else:
        starts, ends = _const_input(c, x, 1, "starts"), _const_input(c, x, 2, "ends")
        a, st = _const_input(c, x, 3, "axes"), _const_input(c, x, 4, "steps")
        starts, ends = starts.reshape(-1).tolist(), ends.reshape(-1).tolist()
        axes = range(len(starts)) if a is None else a.reshape(-1).tolist()
        steps = [1] * len(starts) if st is None else st.reshape(-1).tolist()
    begin, end, strides, out = [0] * rank, list(shape), [1] * rank, list(shape)
    end_mask = 0
    for s, e, ax, step in zip(starts, ends, axes, steps, strict=True):
        ax = _axis(c, x, int(ax), rank)
        if int(step) == 0:
            raise _fail(c, x, "a step is 0")
        # ONNX clamps like Python slicing; slice.indices gives the same start / stop / step
        lo, hi, stride = slice(int(max(min(s, 2**62), -2**62)), int(max(min(e, 2**62), -2**62)),
                               int(step)).indices(shape[ax])
        count = len(range(lo, hi, stride))
        if count == 0:
            raise _unsupported(c, x, "an empty slice")
        begin[ax], strides[ax], out[ax] = lo, stride, count
        end[ax] = lo + count * stride
        if end[ax] < 0:
            end_mask |= 1 << ax
    _emit(c, x, "strided_slice", [c.get(src, "onnx")], tuple(out),
          {"begin": tuple(begin), "end": tuple(end), "strides": tuple(strides), "end_mask": end_mask})


def _gather(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    idx = _const_input(c, x, 1, "indices")
    shape = c.shapes[src]
    axis = _axis(c, x, int(x.attrs.get("axis", 0)), len(shape))
    if idx is None or idx.dtype.kind not in "iu":
        raise _fail(c, x, "indices must be integers")
    if np.any(idx < -shape[axis]) or np.any(idx >= shape[axis]):
        raise _fail(c, x, f"an index is outside -{shape[axis]}..{shape[axis] - 1}")
    idx = np.where(idx < 0, idx + shape[axis], idx).astype(np.int64)
    out = shape[:axis] + idx.shape + shape[axis + 1:]
    _emit(c, x, "gather", [c.get(src, "onnx"), c.typed_const(f"{x.name}_indices", idx)], out, {"axis": axis})


def _tile(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    reps = _const_input(c, x, 1, "repeats")
    shape = c.shapes[src]
    m = tuple(int(r) for r in reps.reshape(-1))
    if len(m) != len(shape) or min(m, default=1) <= 0:
        raise _unsupported(c, x, f"repeats {list(m)} of a {len(shape)}-D input")
    _emit(c, x, "tile", [c.get(src, "onnx")], tuple(d * r for d, r in zip(shape, m, strict=True)),
          {"multiples": m})


def _expand(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    target = _const_input(c, x, 1, "shape")
    shape = c.shapes[src]
    try:
        out = tuple(int(d) for d in np.broadcast_shapes(shape, tuple(int(d) for d in target.reshape(-1))))
    except ValueError:
        raise _fail(c, x, f"cannot expand {list(shape)} to {target.tolist()}") from None
    if out == shape:
        c.alias(x.outputs[0], src)
        return
    ir = c.get(src, "onnx")
    if len(out) > len(shape):
        ir = _temp(c, x, "reshape", [ir], (1,) * (len(out) - len(shape)) + shape)
    _emit(c, x, "broadcast_to", [ir], out)


def _depth_space(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    n, ch, h, w = c.shapes[src] if len(c.shapes[src]) == 4 else (0,) * 4
    if not n:
        raise _unsupported(c, x, "a non-4-D input")
    b = int(x.attrs["blocksize"])
    if x.attrs.get("mode", "DCR") == "CRD":
        _crd(c, x, src, b)
        return
    if x.attrs.get("mode", "DCR") != "DCR":  # TFLite's channel order is ONNX's DCR
        raise _unsupported(c, x, f"mode {x.attrs['mode']}")
    if x.op == "DepthToSpace":
        if ch % (b * b):
            raise _fail(c, x, f"{ch} channels do not divide by blocksize {b} squared")
        shape, op = (n, ch // (b * b), h * b, w * b), "depth_to_space"
    else:
        if h % b or w % b:
            raise _fail(c, x, f"{h}x{w} does not divide by blocksize {b}")
        shape, op = (n, ch * b * b, h // b, w // b), "space_to_depth"
    out = c.new_value(x.outputs[0], shape, "nhwc")
    c._add_node(op, x.name, [c.get(src, "nhwc")], [out], {"block_size": b})


def _crd(c: _Converter, x: _Ctx, src: str, b: int) -> None:
    """Column-row-depth order (channels split as [C', b, b]): ONNX's own reshape / transpose / reshape."""
    n, ch, h, w = c.shapes[src]
    if x.op == "DepthToSpace":
        if ch % (b * b):
            raise _fail(c, x, f"{ch} channels do not divide by blocksize {b} squared")
        split, perm, out = (n, ch // (b * b), b, b, h, w), (0, 1, 4, 2, 5, 3), (n, ch // (b * b), h * b, w * b)
    else:
        if h % b or w % b:
            raise _fail(c, x, f"{h}x{w} does not divide by blocksize {b}")
        split, perm, out = (n, ch, h // b, b, w // b, b), (0, 1, 3, 5, 2, 4), (n, ch * b * b, h // b, w // b)
    t = _temp(c, x, "reshape", [c.get(src, "onnx")], split)
    t = _temp(c, x, "transpose", [t], tuple(split[p] for p in perm), {"perm": perm})
    _emit(c, x, "reshape", [t], out)


# --- reductions -------------------------------------------------------------------------------------------

REDUCE = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "reduce_max", "ReduceMin": "reduce_min",
          "ReduceL2": "sum", "ReduceSumSquare": "sum"}


def _reduce(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    rank = len(shape)
    as_input = c.opset >= 18 or (x.op == "ReduceSum" and c.opset >= 13)
    if as_input:
        a = _const_input(c, x, 1, "axes")
        axes = None if a is None or not a.size else [int(v) for v in a.reshape(-1)]
    else:
        axes = [int(v) for v in x.attrs["axes"]] if "axes" in x.attrs else None
    if axes is None:
        if as_input and x.attrs.get("noop_with_empty_axes", 0):
            if x.op in ("ReduceL2", "ReduceSumSquare"):
                raise _unsupported(c, x, "noop_with_empty_axes with a squaring reduction")
            c.alias(x.outputs[0], src)
            return
        axes = list(range(rank))
    axes = sorted({_axis(c, x, a, rank) for a in axes})
    keep = bool(x.attrs.get("keepdims", 1))
    out = tuple(1 if i in axes else d for i, d in enumerate(shape) if keep or i not in axes)
    ir = c.get(src, "onnx")
    if x.op in ("ReduceL2", "ReduceSumSquare"):
        ir = _temp(c, x, "square", [ir], shape)
    attrs = {"axes": tuple(axes), "keep_dims": keep}
    if x.op == "ReduceL2":
        _emit(c, x, "sqrt", [_temp(c, x, "sum", [ir], out, attrs)], out)
    else:
        _emit(c, x, REDUCE[x.op], [ir], out, attrs)


def _arg(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    axis = _axis(c, x, int(x.attrs.get("axis", 0)), len(shape))
    op = "arg_max" if x.op == "ArgMax" else "arg_min"
    attrs = {"axis": axis, "select_last": bool(x.attrs.get("select_last_index", 0))}
    dropped = shape[:axis] + shape[axis + 1:]
    if not x.attrs.get("keepdims", 1):
        _emit(c, x, op, [c.get(src, "onnx")], dropped, attrs, dtype="int64")
        return
    flat = _temp(c, x, op, [c.get(src, "onnx")], dropped, attrs, dtype="int64")
    _emit(c, x, "reshape", [flat], shape[:axis] + (1,) + shape[axis + 1:], dtype="int64")


def _log_softmax(c: _Converter, x: _Ctx) -> None:
    src = _input(c, x)
    shape = c.shapes[src]
    rank = len(shape)
    axis = _axis(c, x, int(x.attrs.get("axis", 1 if c.opset < 13 else -1)), rank)
    if c.opset < 13:  # over the input flattened to [prod(shape[:axis]), prod(shape[axis:])]
        flat = _temp(c, x, "reshape", [c.get(src, "onnx")], (math.prod(shape[:axis]), math.prod(shape[axis:])))
        _emit(c, x, "reshape", [_temp(c, x, "log_softmax", [flat], c.g.tensor(flat).shape)], shape)
        return
    if axis == rank - 1:
        _emit(c, x, "log_softmax", [c.get(src, "onnx")], shape)
        return
    perm = tuple(i for i in range(rank) if i != axis) + (axis,)
    moved = tuple(shape[p] for p in perm)
    t = _temp(c, x, "transpose", [c.get(src, "onnx")], moved, {"perm": perm})
    t = _temp(c, x, "log_softmax", [t], moved)
    _emit(c, x, "transpose", [t], shape, {"perm": tuple(int(i) for i in np.argsort(perm))})


CONVERTERS: dict[str, Callable[[_Converter, _Ctx], None]] = {
    **{op: _unary for op in (*UNARY, "LeakyRelu", "Elu")},
    **{op: generic_binary for op in ("Min", "Max", "Sum", "Mean", *COMPARISONS)},
    "Where": _where,
    "Selu": _selu,
    "HardSigmoid": _hard_sigmoid,
    "Reciprocal": _reciprocal,
    "PRelu": _prelu,
    "Pad": _pad,
    "Concat": _concat,
    "Split": _split,
    "Slice": _slice,
    "Gather": _gather,
    "Tile": _tile,
    "Expand": _expand,
    "DepthToSpace": _depth_space,
    "SpaceToDepth": _depth_space,
    **{op: _reduce for op in REDUCE},
    "ArgMax": _arg,
    "ArgMin": _arg,
    "LogSoftmax": _log_softmax,
}


def _conv_transpose(c: _Converter, x: _Ctx) -> None:
    """The full transposed convolution (TFLite 'valid', bias included), then cropped by ONNX's pads."""
    from tinyc.frontends.onnx import _pair, _spatial

    src = _input(c, x)
    w = _const_input(c, x, 1, "weights")
    b = _const_input(c, x, 2, "bias")
    size = _spatial(c, x, src)
    if w is None or w.ndim != x.dims + 2:
        raise _fail(c, x, f"weights must be a {x.dims + 2}-D [Cin, Cout/group, kernel...] tensor")
    group = int(x.attrs.get("group", 1))
    if _pair(c, x, "dilations") != (1, 1):
        raise _unsupported(c, x, "dilation")
    w = w.reshape(w.shape[:2] + (1,) * (4 - w.ndim) + w.shape[2:])
    n, cin = c.shapes[src][:2]
    if group < 1 or cin % group or w.shape[0] != cin:
        raise _fail(c, x, f"weights {list(w.shape)} and group={group} do not fit {cin} input channels")
    cout, k = int(w.shape[1]) * group, (int(w.shape[2]), int(w.shape[3]))
    stride = _pair(c, x, "strides")
    extra = _pair(c, x, "output_padding", 0) if x.dims == 2 else (0, int(x.attrs.get("output_padding", [0])[0]))
    full = [(size[i] - 1) * stride[i] + k[i] for i in range(2)]
    auto = x.attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if "output_shape" in x.attrs or auto in ("SAME_UPPER", "SAME_LOWER"):
        want = (list(x.attrs["output_shape"])[-x.dims:] if "output_shape" in x.attrs
                else [size[i] * stride[i] for i in range(2)][-x.dims:])
        want = [1, *want] if x.dims == 1 else want
        begin, end = [], []
        for i in range(2):
            total = full[i] + extra[i] - int(want[i])
            small, big = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else big)
            end.append(big if auto == "SAME_UPPER" else small)
    elif auto in ("NOTSET", "VALID"):
        p = [int(v) for v in x.attrs.get("pads", (0,) * 2 * x.dims)] if auto == "NOTSET" else [0] * 2 * x.dims
        begin, end = ([0, p[0]], [0, p[1]]) if x.dims == 1 else ([p[0], p[1]], [p[2], p[3]])
    else:
        raise _fail(c, x, f"unknown auto_pad '{auto}'")
    end = [end[i] - extra[i] for i in range(2)]
    if min(begin) < 0:
        raise _unsupported(c, x, "negative leading pads")
    grow = [max(-e, 0) for e in end]  # rows / columns past the full output: no tap reaches them, only the bias
    end = [max(e, 0) for e in end]
    bias_late = b is not None and (any(grow) or group > 1)
    inputs = [c.get(src, "nhwc"), c.const(f"{x.name}_weights", w.transpose(1, 2, 3, 0))]
    if b is not None and not bias_late:
        inputs.append(c.const(f"{x.name}_bias", b.reshape(-1)))
    out_hw = [full[i] - begin[i] - end[i] + grow[i] for i in range(2)]
    onnx_shape = (n, cout, *out_hw) if x.dims == 2 else (n, cout, out_hw[1])
    attrs = {"stride": stride, "padding": "valid", "activation": "none"}
    steps = []  # (IR op, attrs, NHWC shape) after the transposed convolution
    if begin != [0, 0] or end != [0, 0]:
        shape = (n, full[0] - begin[0] - end[0], full[1] - begin[1] - end[1], cout)
        steps.append(("strided_slice", {"begin": (0, begin[0], begin[1], 0),
                                        "end": (n, full[0] - end[0], full[1] - end[1], cout),
                                        "strides": (1, 1, 1, 1)}, shape))
    if any(grow):
        steps.append(("pad", {"pads": ((0, 0), (0, grow[0]), (0, grow[1]), (0, 0)), "value": 0.0},
                      (n, out_hw[0], out_hw[1], cout)))
    if bias_late:
        steps.append(("add", {"activation": "none"}, (n, out_hw[0], out_hw[1], cout)))
    whole = (n, full[0], full[1], cout)
    if group > 1:  # each group's channels on their own, side by side again
        cin_g, cout_g = cin // group, cout // group
        parts = [c.fresh(f"{x.name}_group{g}") for g in range(group)]
        for name in parts:
            c.g.add_tensor(_tensor(name, (n, size[0], size[1], cin_g)))
        c._add_node("split", f"{x.name}_split", [inputs[0]], parts, {"axis": 3})
        products = [_temp(c, x, "transpose_conv", [part, c.const(f"{x.name}_weights{g}", w[g * cin_g:(g + 1) * cin_g]
                                                                   .transpose(1, 2, 3, 0))],
                          (n, full[0], full[1], cout_g), attrs) for g, part in enumerate(parts)]
        ir = _temp(c, x, "concatenation", products, whole, {"axis": 3, "activation": "none"})
    elif not steps:
        out = c.new_value(x.outputs[0], onnx_shape, "nhwc")
        c._add_node("transpose_conv", x.name, inputs, [out], attrs)
        return
    else:
        ir = _temp(c, x, "transpose_conv", inputs, whole, attrs)
    if not steps:
        out = c.new_value(x.outputs[0], onnx_shape, "nhwc")
        c._add_node("reshape", f"{x.name}_out", [ir], [out])
        return
    for k, (op, op_attrs, shape) in enumerate(steps):
        args = [ir] + ([c.const(f"{x.name}_bias", b.reshape(-1))] if op == "add" else [])
        if k == len(steps) - 1:
            out = c.new_value(x.outputs[0], onnx_shape, "nhwc")
            c._add_node(op, f"{x.name}_{op}", args, [out], op_attrs)
        else:
            ir = _temp(c, x, op, args, shape, op_attrs)


CONVERTERS["ConvTranspose"] = _conv_transpose


def batch_matmul(c: _Converter, x: _Ctx) -> None:
    """numpy.matmul of two operands (activations or constants): 1-D operands become matrices and back."""
    a, b = x.input(0), x.input(1)
    if a in c.consts and b in c.consts:
        raise _unsupported(c, x, "only constant operands")
    sa, sb = _shape_of(c, a), _shape_of(c, b)
    if not sa or not sb or max(len(sa), len(sb)) > 5:
        raise _unsupported(c, x, f"operands {list(sa)} x {list(sb)}")
    ma, mb = ((1,) + sa if len(sa) == 1 else sa), (sb + (1,) if len(sb) == 1 else sb)
    if ma[-1] != mb[-2]:
        raise _fail(c, x, f"operands {list(sa)} x {list(sb)} do not multiply")
    try:
        batch = tuple(int(d) for d in np.broadcast_shapes(ma[:-2], mb[:-2]))
    except ValueError:
        raise _fail(c, x, f"batch dimensions of {list(sa)} and {list(sb)} do not broadcast") from None
    ops = []
    for name, shape, matrix in ((a, sa, ma), (b, sb, mb)):
        ir = c.operand(name, f"{x.name}_operand")
        ops.append(_temp(c, x, "reshape", [ir], matrix) if matrix != shape else ir)
    full = batch + (ma[-2], mb[-1])
    out = full[:-2] + (() if len(sa) == 1 else (ma[-2],)) + (() if len(sb) == 1 else (mb[-1],))
    if out == full:
        _emit(c, x, "batch_matmul", ops, out)
    else:
        _emit(c, x, "reshape", [_temp(c, x, "batch_matmul", ops, full)], out)


MAX_LP = 8  # LpPool's largest p (|x| multiplied p times)


def _lp_pool(c: _Converter, x: _Ctx) -> None:
    """(sum over the window of |x|^p)^(1/p) for an integer p: |x| multiplied p times, a depthwise sum with a
    kernel of ones (ONNX's zero padding adds nothing), then the root: sqrt for p = 2, exp(log(sum) / p) above."""
    from tinyc.frontends.onnx import _pair, _spatial, _window_pads
    from tinyc.ops._common import window_out_size

    src = _input(c, x)
    size = _spatial(c, x, src)
    p = int(x.attrs.get("p", 2))
    if not 1 <= p <= MAX_LP:
        raise _unsupported(c, x, f"p={p}; only 1 to {MAX_LP}")
    if x.attrs.get("ceil_mode", 0):
        raise _unsupported(c, x, "ceil_mode=1")
    k, stride, dil = _pair(c, x, "kernel_shape"), _pair(c, x, "strides"), _pair(c, x, "dilations")
    pads = _window_pads(c, x, size, k, stride, dil)
    n, ch = c.shapes[src][:2]
    nhwc = (n, size[0], size[1], ch)
    magnitude = _temp(c, x, "abs", [c.get(src, "nhwc")], nhwc)
    powered = magnitude if p == 1 else _temp(c, x, "square", [magnitude], nhwc)
    for _ in range(p - 2):
        powered = _temp(c, x, "mul", [powered, magnitude], nhwc)
    oh, ow = (window_out_size(size[i], k[i], stride[i], dil[i], pads[i], pads[i + 2]) for i in range(2))
    attrs = {"stride": stride, "dilation": dil, "pads": pads, "activation": "none", "depth_multiplier": 1}
    ones = c.const(f"{x.name}_ones", np.ones((1, k[0], k[1], ch), np.float32))
    out_shape = (n, ch, oh, ow) if x.dims == 2 else (n, ch, ow)
    if p == 1:
        out = c.new_value(x.outputs[0], out_shape, "nhwc")
        c._add_node("depthwise_conv2d", x.name, [powered, ones], [out], attrs)
        return
    total = _temp(c, x, "depthwise_conv2d", [powered, ones], (n, oh, ow, ch), attrs)
    if p > 2:
        total = _temp(c, x, "exp", [_temp(c, x, "div", [_temp(c, x, "log", [total], (n, oh, ow, ch)),
                                                         _const(c, x, float(p))], (n, oh, ow, ch))], (n, oh, ow, ch))
    out = c.new_value(x.outputs[0], out_shape, "nhwc")
    if p > 2:
        c._add_node("reshape", f"{x.name}_root", [total], [out])
        return
    c._add_node("sqrt", f"{x.name}_sqrt", [total], [out])


CONVERTERS["LpPool"] = _lp_pool


def _pow(c: _Converter, x: _Ctx) -> None:
    """x ** e for one constant exponent e: 1, 2 (square), 0.5 (sqrt) or a small integer (products)."""
    src = _input(c, x)
    e = _const_input(c, x, 1, "exponent")
    if e is None or e.size == 0 or not np.all(e == e.reshape(-1)[0]):
        raise _unsupported(c, x, "an exponent that differs between elements")
    shape = c.shapes[src]
    if tuple(np.broadcast_shapes(shape, e.shape)) != shape:
        raise _unsupported(c, x, f"an exponent of shape {list(e.shape)} that broadcasts the input")
    k = float(e.reshape(-1)[0])
    ir = c.get(src, "onnx")
    if k == 1.0:
        c.alias(x.outputs[0], src)
    elif k == 0.5:
        _emit(c, x, "sqrt", [ir], shape)
    elif k.is_integer() and 2 <= k <= MAX_LP:
        acc = ir if k == 2 else _temp(c, x, "square", [ir], shape)
        for _ in range(int(k) - 3):
            acc = _temp(c, x, "mul", [acc, ir], shape)
        _emit(c, x, "square" if k == 2 else "mul", [ir] if k == 2 else [acc, ir], shape)
    else:
        raise _unsupported(c, x, f"exponent {k}; only 0.5 and the integers 1 to {MAX_LP}")


def _gelu(c: _Converter, x: _Ctx) -> None:
    """The tanh form: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))); the erf form has no IR op."""
    if x.attrs.get("approximate", "none") != "tanh":
        raise _unsupported(c, x, "approximate='none' (erf)")
    src = _input(c, x)
    shape = c.shapes[src]
    ir = c.get(src, "onnx")
    cube = _temp(c, x, "mul", [_temp(c, x, "square", [ir], shape), ir], shape)
    inner = _temp(c, x, "add", [ir, _temp(c, x, "mul", [cube, _const(c, x, 0.044715)], shape)], shape)
    t = _temp(c, x, "tanh", [_temp(c, x, "mul", [inner, _const(c, x, math.sqrt(2 / math.pi))], shape)], shape)
    half_x = _temp(c, x, "mul", [ir, _const(c, x, 0.5)], shape)
    _emit(c, x, "mul", [half_x, _temp(c, x, "add", [t, _const(c, x, 1.0)], shape)], shape)


CONVERTERS["Pow"] = _pow
CONVERTERS["Gelu"] = _gelu
