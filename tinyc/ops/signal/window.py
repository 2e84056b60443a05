"""SignalWindow: int16 samples times an int16 window, shifted right and saturated to int16 (signal/src/window.cc).

The window (a constant) repeats over the input: the input's size is a multiple of its length.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import const_of, int_attr, tensor_is


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    w = np.tile(step.consts["window"].astype(np.int64), step.params["size"] // step.params["length"])
    y = (x.reshape(len(x), -1).astype(np.int64) * w) >> step.params["shift"]
    return [np.clip(y, -32768, 32767).astype(np.int16).reshape(x.shape)]


@register
class SignalWindow(OpDef):
    name = "signal_window"
    tflite = ("SignalWindow",)
    arity = (2, 2)
    kernels = {"signal_window": run}
    dtypes = frozenset({("int16", "int16")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        tensor_is(graph, node, x.name, "int16", what="the input")
        tensor_is(graph, node, y.name, "int16", what="the output")
        w = const_of(graph, node, 1, "window")
        tensor_is(graph, node, node.inputs[1], "int16", rank=1, what="the window")
        expect(y.shape == x.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        expect(x.size % w.size == 0, node, f"input size {x.size} is not a multiple of the window length {w.size}")
        int_attr(node, "shift", 0, 31)

    def lower(self, node: Node, graph: Graph) -> Step:
        x = graph.tensor(node.inputs[0])
        w = graph.tensor(node.inputs[1]).data.reshape(-1)
        return Step("signal_window", node.name, [x.name], [node.outputs[0]],
                    {"shift": int(node.attrs["shift"]), "size": x.size, "length": w.size}, {"window": w})
