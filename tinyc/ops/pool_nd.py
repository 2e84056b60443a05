"""POOL_ND: float32 max / average / sum pooling over 1 to 3 spatial dims in ONNX's [N, C, spatial...] layout, with
dilation, begin/end padding (the end may hold ceil_mode's extra) and, for max, ONNX MaxPool's Indices output.
The 2-D NHWC pools cover the common cases; this one takes what they cannot (3-D windows, dilation, Indices,
count_include_pad with ceil_mode). Shapes are padded to 3 spatial dims in front (size 1, window 1).

- max: the first largest value over the window's in-range positions (scan order d, h, w; ties keep the first);
  Indices are flat positions in the input, n and c included, spatial dims row-major (storage_order 0) or
  column-major (1).
- avg: the in-range values summed in scan order from 0, over a divisor counting the in-range positions, or with
  count_include_pad the positions inside the explicit padding too (never the ceil_mode extra), as ONNX's
  reference pool.
- sum: the in-range values summed in scan order from 0 (LpPool's sum of |x|^p; zero padding adds nothing).
"""

from __future__ import annotations

import itertools

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register

F = np.float32
MODES = ("max", "avg", "sum")
DIMS = 3


def _padded(v: tuple[int, ...], fill: int) -> tuple[int, ...]:
    return (fill,) * (DIMS - len(v)) + tuple(int(a) for a in v)


def out_size(size: int, k: int, stride: int, dil: int, begin: int, end: int) -> int:
    return (size + begin + end - ((k - 1) * dil + 1)) // stride + 1


def _positions(p: dict, o: tuple[int, ...]) -> tuple[list[tuple[int, ...]], int]:
    """In-range input positions of output position o, in scan order, and the average's divisor."""
    axes, count = [], 1
    for i in range(DIMS):
        start = o[i] * p["stride"][i] - p["begin"][i]
        taps = [start + t * p["dil"][i] for t in range(p["kernel"][i])]
        axes.append([a for a in taps if 0 <= a < p["in"][i]])
        limit = p["in"][i] + p["count_end"][i]
        count *= sum(-p["begin"][i] <= a < limit for a in taps) if p["include_pad"] else len(axes[-1])
    return list(itertools.product(*axes)), count


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    n = inputs[0].shape[0]
    x = np.asarray(inputs[0], F).reshape(n, p["planes"], *p["in"])
    y = np.zeros((n, p["planes"], *p["out"]), F)
    idx = np.zeros((n, p["planes"], *p["out"]), np.int64)
    plane = int(np.prod(p["in"]))
    strides = p["index_strides"]
    for o in itertools.product(*(range(s) for s in p["out"])):
        where, count = _positions(p, o)
        if p["mode"] == "max":
            m = x[(slice(None), slice(None), *where[0])]
            at = np.full(m.shape, sum(a * s for a, s in zip(where[0], strides, strict=True)), np.int64)
            for pos in where[1:]:
                v = x[(slice(None), slice(None), *pos)]
                take = v > m
                m = np.where(take, v, m)
                at = np.where(take, sum(a * s for a, s in zip(pos, strides, strict=True)), at)
            y[(slice(None), slice(None), *o)] = m
            idx[(slice(None), slice(None), *o)] = at
        else:
            acc = np.zeros((n, p["planes"]), F)
            for pos in where:
                acc = (acc + x[(slice(None), slice(None), *pos)]).astype(F)
            y[(slice(None), slice(None), *o)] = acc if p["mode"] == "sum" else (acc / F(count)).astype(F)
    out = [y.reshape((n, *p["out_shape"]))]
    if p["indices"]:
        out.append((idx + (np.arange(p["planes"], dtype=np.int64) * plane)[None, :, None, None, None])
                   .reshape((n, *p["out_shape"])))
    return out


@register
class PoolNd(OpDef):
    name = "pool_nd"
    outputs = (1, 2)
    kernels = {"pool_nd": run}
    dtypes = frozenset({("float32", "float32"), ("float32", "int64")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        a = node.attrs
        dims = len(x.shape) - 2
        expect(1 <= dims <= DIMS, node, f"input must be [N, C] and 1 to {DIMS} spatial dims, got {list(x.shape)}")
        expect(a.get("mode") in MODES, node, f"mode must be one of {', '.join(MODES)}")
        for key in ("kernel", "stride", "dilation", "pads_begin", "pads_end", "count_end"):
            expect(len(a[key]) == dims, node, f"{key} must have {dims} values")
        expect(min(a["kernel"]) >= 1 and min(a["stride"]) >= 1 and min(a["dilation"]) >= 1, node,
               "kernel, stride and dilation must be positive")
        expect(min(a["pads_begin"]) >= 0 and min(a["pads_end"]) >= 0, node, "pads must not be negative")
        expect(x.dtype == "float32" and y.dtype == "float32", node, "input and output must be float32")
        out = tuple(out_size(*v) for v in zip(x.shape[2:], a["kernel"], a["stride"], a["dilation"], a["pads_begin"],
                                               a["pads_end"], strict=True))
        expect(min(out) >= 1 and y.shape == x.shape[:2] + out, node, f"output {list(y.shape)} should be "
               f"{list(x.shape[:2] + out)}")
        # every window must hold an in-range position (no empty max, no zero divisor)
        for size, k, s, d, b, o in zip(x.shape[2:], a["kernel"], a["stride"], a["dilation"], a["pads_begin"], out,
                                       strict=True):
            for i in range(o):
                expect(any(0 <= i * s - b + t * d < size for t in range(k)), node,
                       f"window {i} lies wholly in the padding")
        if len(node.outputs) == 2:
            ind = graph.tensor(node.outputs[1])
            expect(a["mode"] == "max" and ind.dtype == "int64" and ind.shape == y.shape, node,
                   "only max pooling has an int64 Indices output of the output's shape")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        a = node.attrs
        size = _padded(x.shape[2:], 1)
        if a.get("storage_order", 0):
            strides = tuple(int(np.prod(x.shape[2:][:i], dtype=np.int64)) for i in range(len(x.shape) - 2))
        else:
            strides = tuple(int(np.prod(x.shape[2:][i + 1:], dtype=np.int64)) for i in range(len(x.shape) - 2))
        params = {"mode": a["mode"], "planes": x.shape[0] * x.shape[1], "in": size, "out": _padded(y.shape[2:], 1),
                  "kernel": _padded(a["kernel"], 1), "stride": _padded(a["stride"], 1),
                  "dil": _padded(a["dilation"], 1), "begin": _padded(a["pads_begin"], 0),
                  "count_end": _padded(a["count_end"], 0), "include_pad": bool(a.get("count_include_pad", False)),
                  "indices": len(node.outputs) == 2, "index_strides": _padded(strides, 0), "out_shape": y.shape}
        return Step("pool_nd", node.name, [x.name], list(node.outputs), params)
