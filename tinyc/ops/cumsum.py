"""CUMSUM: running sums along one axis, optionally exclusive and/or reversed, accumulated in order as TFLM's
reference CumSum: float32 from 0, int8 with ADD_N's quantized sum (tinyc/ops/add_n.py; TFLM's accumulator starts
at the rescaled -zero_point there too). TFLM has no int32 CUMSUM."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import positive_axis
from tinyc.ops.add_n import FLOAT_OR_INT8, quantized_sum_params, sum_output, sum_term


def run_cumsum(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    n = inputs[0].shape[0]
    x = inputs[0].reshape(n, p["outer"], p["axis_size"], p["inner"])
    q = p["dtype"] == "int8"
    out = np.zeros(x.shape, np.int64 if q else np.float32)
    acc = np.full((n, p["outer"], p["inner"]), p["init"], np.int64) if q else np.zeros((n, p["outer"], p["inner"]),
                                                                                        np.float32)
    order = range(p["axis_size"] - 1, -1, -1) if p["reverse"] else range(p["axis_size"])
    for k in order:
        if p["exclusive"]:
            out[:, :, k] = acc
        acc = acc + (sum_term(x[:, :, k], p) if q else x[:, :, k])
        if not p["exclusive"]:
            out[:, :, k] = acc
    return [(sum_output(out, p) if q else out).reshape(inputs[0].shape)]


@register
class CumSum(OpDef):
    name = "cumsum"
    tflite = ("CUMSUM",)
    dtypes = FLOAT_OR_INT8
    kernels = {"cumsum": run_cumsum}

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        axis = positive_axis(int(node.attrs["axis"]), len(x.shape), node)
        expect(x.shape == y.shape and x.dtype == y.dtype, node, f"output {list(y.shape)} is not {list(x.shape)}")
        if x.dtype == "int8":
            quantized_sum_params(graph, node, x.name, y.name, x.shape[axis])

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        axis = positive_axis(int(node.attrs["axis"]), len(x.shape), node)
        params = {"outer": int(np.prod(x.shape[:axis], dtype=np.int64)),
                  "axis_size": x.shape[axis], "inner": int(np.prod(x.shape[axis + 1:], dtype=np.int64)),
                  "size": x.size, "exclusive": bool(node.attrs.get("exclusive", False)),
                  "reverse": bool(node.attrs.get("reverse", False)), "dtype": x.dtype}
        if x.dtype == "int8":
            params |= quantized_sum_params(graph, node, x.name, y.name, x.shape[axis])
        return Step("cumsum", node.name, [x.name], [y.name], params)
