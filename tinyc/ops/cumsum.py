"""CUMSUM (float32): running sums along one axis, optionally exclusive and/or reversed, accumulated in order from
0 as TFLM's reference CumSum. TFLM's int8 CUMSUM is not supported yet (it has no int32 one)."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import positive_axis


def run_cumsum(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    n = inputs[0].shape[0]
    x = inputs[0].reshape(n, p["outer"], p["axis_size"], p["inner"])
    out = np.zeros(x.shape, np.float32)
    acc = np.zeros((n, p["outer"], p["inner"]), np.float32)
    order = range(p["axis_size"] - 1, -1, -1) if p["reverse"] else range(p["axis_size"])
    for k in order:
        if p["exclusive"]:
            out[:, :, k] = acc
        acc = acc + x[:, :, k]
        if not p["exclusive"]:
            out[:, :, k] = acc
    return [out.reshape(inputs[0].shape)]


@register
class CumSum(OpDef):
    name = "cumsum"
    dtypes = frozenset({("float32", "float32")})
    kernels = {"cumsum": run_cumsum}

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        positive_axis(int(node.attrs["axis"]), len(x.shape), node)
        expect(x.shape == y.shape and x.dtype == y.dtype, node, f"output {list(y.shape)} is not {list(x.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        axis = positive_axis(int(node.attrs["axis"]), len(x.shape), node)
        params = {"outer": int(np.prod(x.shape[:axis], dtype=np.int64)),
                  "axis_size": x.shape[axis], "inner": int(np.prod(x.shape[axis + 1:], dtype=np.int64)),
                  "size": x.size, "exclusive": bool(node.attrs.get("exclusive", False)),
                  "reverse": bool(node.attrs.get("reverse", False))}
        return Step("cumsum", node.name, [x.name], [y.name], params)
