"""CONV_TRANSPOSE_ND: float32 transposed convolution over 1 to 3 spatial dims in ONNX's layout ([N, Cin, spatial...]
in, [Cin, Cout/group, kernel...] weights, [N, Cout, spatial...] out), for what the NHWC TRANSPOSE_CONV does not take
(3-D windows). out[co, o] = bias[co] + the products x[ci, i] * w[ci, co, t] over o = i * stride + t * dilation -
pads_begin, summed from the bias in the order ci, then taps d, h, w. Shapes are padded to 3 spatial dims in front."""

from __future__ import annotations

import itertools

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register

F = np.float32
DIMS = 3


def _padded(v: tuple[int, ...], fill: int) -> tuple[int, ...]:
    return (fill,) * (DIMS - len(v)) + tuple(int(a) for a in v)


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, w, b = step.params, step.consts["weights"], step.consts["bias"]
    n = inputs[0].shape[0] * p["batch"]
    x = np.asarray(inputs[0], F).reshape(n, p["cin"], *p["in"])
    cin_g, cout_g = p["cin"] // p["group"], p["cout"] // p["group"]
    y = np.zeros((n, p["cout"], *p["out"]), F)
    for g in range(p["group"]):
        for o in itertools.product(*(range(s) for s in p["out"])):
            acc = np.broadcast_to(b[g * cout_g:(g + 1) * cout_g], (n, cout_g)).astype(F)
            for ci in range(g * cin_g, (g + 1) * cin_g):
                for t in itertools.product(*(range(k) for k in p["kernel"])):
                    num = [o[i] + p["begin"][i] - t[i] * p["dil"][i] for i in range(DIMS)]
                    if any(v < 0 or v % p["stride"][i] or v // p["stride"][i] >= p["in"][i]
                           for i, v in enumerate(num)):
                        continue
                    at = tuple(v // p["stride"][i] for i, v in enumerate(num))
                    acc = (acc + (x[(slice(None), ci, *at)][:, None] * w[(ci, slice(None), *t)][None]).astype(F)
                           ).astype(F)
            y[(slice(None), slice(g * cout_g, (g + 1) * cout_g), *o)] = acc
    return [y.reshape((inputs[0].shape[0], *p["out_shape"]))]


@register
class ConvTransposeNd(OpDef):
    name = "conv_transpose_nd"
    arity = (3, 3)
    kernels = {"conv_transpose_nd": run}
    dtypes = frozenset({("float32", "float32")})

    def check(self, node: Node, graph: Graph) -> None:
        x, w, b, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        a = node.attrs
        dims = len(x.shape) - 2
        expect(1 <= dims <= DIMS and x.dtype == "float32" and y.dtype == "float32", node,
               f"input must be float32 [N, C] and 1 to {DIMS} spatial dims, got {list(x.shape)}")
        group = int(a["group"])
        expect(w.is_const and b.is_const and len(w.shape) == dims + 2 and group >= 1 and x.shape[1] == w.shape[0]
               and x.shape[1] % group == 0 and b.shape == (w.shape[1] * group,), node,
               "weights must be a constant [Cin, Cout/group, kernel...] and bias [Cout]")
        for key in ("stride", "dilation", "pads_begin"):
            expect(len(a[key]) == dims, node, f"{key} must have {dims} values")
        expect(min(a["stride"]) >= 1 and min(a["dilation"]) >= 1 and min(a["pads_begin"]) >= 0, node,
               "stride and dilation must be positive, pads_begin not negative")
        expect(len(y.shape) == dims + 2 and y.shape[:2] == (x.shape[0], w.shape[1] * group) and min(y.shape) >= 1,
               node, f"output {list(y.shape)} does not fit")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, w, b, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        a = node.attrs
        dims = len(x.shape) - 2
        weights = w.data.astype(F).reshape(w.shape[:2] + (1,) * (DIMS - dims) + w.shape[2:])
        params = {"cin": x.shape[1], "cout": y.shape[1], "group": int(a["group"]), "batch": x.shape[0],
                  "in": _padded(x.shape[2:], 1), "out": _padded(y.shape[2:], 1), "kernel": weights.shape[2:],
                  "stride": _padded(a["stride"], 1), "dil": _padded(a["dilation"], 1),
                  "begin": _padded(a["pads_begin"], 0), "out_shape": y.shape}
        return Step("conv_transpose_nd", node.name, [x.name], [y.name], params,
                    {"weights": weights, "bias": b.data.astype(F)})
