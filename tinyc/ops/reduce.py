"""Reductions as TFLM computes them: MEAN, SUM, REDUCE_MAX, REDUCE_MIN (float32, int8, int16), REDUCE_ALL (bool)
and ARG_MAX / ARG_MIN (float32 or int8 in, int32 or int64 indices out).

Each output element loops over its reduced elements in the input's row-major order, the order in which
TFLM's Reduce accumulates them, so float sums round the same. Integer MEAN and SUM take TFLM's
QuantizedMeanOrSum whatever the quantization (this TFLM has no plain-division path for equal input and
output quantization): the int32 sum less zero point times count, requantized, for MEAN with the multiplier
rescaled by 1/count. MAX/MIN compare the raw integers (TFLM requires equal quantization). ARG_MAX/ARG_MIN
keep the first index of the extreme value.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import quant
from tinyc.ops._movement import strides_of

INT_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}
FLOAT_INIT = {"max": float(np.finfo(np.float32).min), "min": float(np.finfo(np.float32).max)}  # TFLM's


def resolve_axes(axes: tuple[int, ...], rank: int, node: Node) -> tuple[int, ...]:
    """TFLM's ResolveAxis: negative axes counted from the end, duplicates dropped, order kept."""
    out: list[int] = []
    for a in axes:
        expect(-rank <= a < rank, node, f"axis {a} out of range for rank {rank}")
        a = a + rank if a < 0 else a
        if a not in out:
            out.append(a)
    return tuple(out)


def reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keep: bool) -> tuple[int, ...]:
    if keep:
        return tuple(1 if d in axes else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in axes) or (1,)


def loops(shape: tuple[int, ...], axes: tuple[int, ...]) -> dict:
    """Kept dimensions (output order) and reduced dimensions (input order), each (sizes, input strides)."""
    st = strides_of(shape)
    kept = [d for d in range(len(shape)) if d not in axes and shape[d] > 1]
    red = [d for d in sorted(axes) if shape[d] > 1]
    return {"outer": tuple(shape[d] for d in kept), "outer_strides": tuple(st[d] for d in kept),
            "inner": tuple(shape[d] for d in red), "inner_strides": tuple(st[d] for d in red),
            "count": int(np.prod([shape[d] for d in axes], dtype=np.int64))}


def gathered(step: Step, x: np.ndarray) -> np.ndarray:
    """(N, outputs, reduced elements) view of a batch, reduced elements in input row-major order."""
    p = step.params
    n = x.shape[0]
    flat = x.reshape(n, -1)
    grid = [np.arange(s) * t for s, t in zip(p["outer"] + p["inner"], p["outer_strides"] + p["inner_strides"],
                                              strict=True)]
    offsets = np.zeros((1,), np.int64)
    for g in grid:
        offsets = (offsets[:, None] + g[None, :]).reshape(-1)
    return flat[:, offsets].reshape(n, -1, max(int(np.prod(p["inner"], dtype=np.int64)), 1))


def run_reduce(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    v = gathered(step, inputs[0])
    kind, n = p["kind"], inputs[0].shape[0]
    if kind == "all":
        out = v.all(axis=2)
    elif p["dtype"] == "float32":
        acc = np.full(v.shape[:2], FLOAT_INIT.get(kind, 0.0), np.float32)
        for r in range(v.shape[2]):
            x = v[:, :, r]
            acc = np.where(x > acc, x, acc) if kind == "max" else np.where(x < acc, x, acc) if kind == "min" \
                else (acc + x).astype(np.float32)
        if kind == "mean":
            acc = (acc / np.float32(p["count"])).astype(np.float32)
        out = acc
    elif kind == "max":
        out = v.max(axis=2)
    elif kind == "min":
        out = v.min(axis=2)
    else:
        total = wrap_int32(v.astype(np.int64).sum(axis=2))
        y = multiply_by_quantized_multiplier(wrap_int32(total - p["in_zp"] * p["count"]), p["mult"], p["shift"])
        lo, hi = INT_RANGE[p["dtype"]]
        out = np.clip(y + p["out_zp"], lo, hi)
    return [out.astype(np.dtype(p["dtype"])).reshape((n, *p["out_shape"]))]


def run_arg(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    v = gathered(step, inputs[0])
    if p["last"]:  # ONNX select_last_index: the last of equal extremes, i.e. the first one counted backwards
        v = v[:, :, ::-1]
    idx = v.argmax(axis=2) if p["kind"] == "argmax" else v.argmin(axis=2)  # the first of equal extremes, as TFLM
    if p["last"]:
        idx = v.shape[2] - 1 - idx
    return [idx.astype(np.dtype(p["out_dtype"])).reshape((inputs[0].shape[0], *p["out_shape"]))]


class _Reduce(OpDef):
    kind = ""
    kernels = {"reduce": run_reduce}
    dtypes = frozenset({("float32", "float32"), ("int8", "int8"), ("int16", "int16")})

    def axes(self, node: Node, graph: Graph) -> tuple[int, ...]:
        return resolve_axes(tuple(int(a) for a in node.attrs["axes"]), len(graph.tensor(node.inputs[0]).shape), node)

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        axes = self.axes(node, graph)
        want = reduced_shape(x.shape, axes, bool(node.attrs.get("keep_dims", False)))
        expect(y.shape == want and y.dtype == x.dtype, node, f"output {y.dtype}{list(y.shape)} is not "
               f"{x.dtype}{list(want)}")
        expect(x.size < 2**16, node, "more than 65535 elements could overflow the int32 sum")
        if x.dtype in INT_RANGE and self.kind in ("max", "min"):
            qi, qo = quant(graph, x.name, node), quant(graph, y.name, node)
            expect(qi.s == qo.s and qi.zp == qo.zp, node, "int8 REDUCE_MAX/MIN needs equal input and output "
                   "quantization (as TFLM)")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        params = {"kind": self.kind, "dtype": x.dtype, "out_shape": y.shape} | loops(x.shape, self.axes(node, graph))
        if self.kind in FLOAT_INIT:
            params["init"] = FLOAT_INIT[self.kind] if x.dtype == "float32" else INT_RANGE[x.dtype][self.kind == "min"]
        if x.dtype in INT_RANGE and self.kind in ("mean", "sum"):
            qi, qo = quant(graph, x.name, node), quant(graph, y.name, node)
            mult, shift = quantize_multiplier(float(np.float64(qi.s) / np.float64(qo.s)))
            count = params["count"]
            if self.kind == "mean":  # fold 1/count into the multiplier, as QuantizedMeanOrSum
                s = min(count.bit_length() - 1, 32, 31 + shift)
                mult, shift = (mult << s) // count, shift - s
            params |= {"in_zp": qi.zp, "out_zp": qo.zp, "mult": int(mult), "shift": int(shift)}
        return Step("reduce", node.name, [x.name], [y.name], params)


@register
class Mean(_Reduce):
    name, kind = "mean", "mean"
    tflite = ("MEAN",)


@register
class Sum(_Reduce):
    name, kind = "sum", "sum"
    tflite = ("SUM",)


@register
class ReduceMax(_Reduce):
    name, kind = "reduce_max", "max"
    tflite = ("REDUCE_MAX",)


@register
class ReduceMin(_Reduce):
    name, kind = "reduce_min", "min"
    tflite = ("REDUCE_MIN",)


@register
class ReduceAll(_Reduce):
    name, kind = "reduce_all", "all"
    tflite = ("REDUCE_ALL",)
    dtypes = frozenset({("bool", "bool")})


@register
class ArgMax(OpDef):
    name, kind = "arg_max", "argmax"
    tflite = ("ARG_MAX",)
    kernels = {"arg_reduce": run_arg}
    dtypes = frozenset((a, b) for a in ("float32", "int8") for b in ("int32", "int64"))  # TFLM: these inputs

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        axes = resolve_axes((int(node.attrs["axis"]),), len(x.shape), node)
        want = reduced_shape(x.shape, axes, False)
        expect(y.shape == want, node, f"output shape {list(y.shape)} is not {list(want)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        axes = resolve_axes((int(node.attrs["axis"]),), len(x.shape), node)
        params = {"kind": self.kind, "dtype": x.dtype, "out_dtype": y.dtype, "out_shape": y.shape,
                  "last": bool(node.attrs.get("select_last", False))}
        return Step("arg_reduce", node.name, [x.name], [y.name], params | loops(x.shape, axes))


@register
class ArgMin(ArgMax):
    name, kind = "arg_min", "argmin"
    tflite = ("ARG_MIN",)
