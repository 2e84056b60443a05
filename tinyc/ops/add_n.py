"""ADD_N (float32): out = 0 + in_0 + in_1 + ..., element by element in input order as TFLM's AddN (so -0.0 +
-0.0 gives +0.0, as there). TFLM also has an int8 ADD_N, not supported yet; it has no int32 one."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register


def run_add_n(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    acc = np.zeros(inputs[0].shape, np.float32)
    for x in inputs:
        acc = acc + x
    return [acc]


@register
class AddN(OpDef):
    name = "add_n"
    arity = (2, 64)  # TFLM takes two or more
    dtypes = frozenset({("float32", "float32")})
    kernels = {"add_n": run_add_n}

    def check(self, node: Node, graph: Graph) -> None:
        y = graph.tensor(node.outputs[0])
        for name in node.inputs:
            t = graph.tensor(name)
            expect(t.shape == y.shape and t.dtype == y.dtype and not t.is_const, node,
                   f"input '{name}' is not an activation of the output's shape and dtype")

    def lower(self, node: Node, graph: Graph) -> Step:
        y = graph.tensor(node.outputs[0])
        return Step("add_n", node.name, list(node.inputs), [y.name], {"size": y.size, "n": len(node.inputs)})
