"""SignalDelay: each row of int16 samples delayed by delay_length samples across invocations (delay.cc).

The last delay_length samples of each row are state (zeros at reset): the output row is they followed by the
row's first samples.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import State, Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import int_attr, tensor_is


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x = inputs[0]
    if not p["delay"]:
        return [x.copy()]
    rows = x.reshape(len(x), p["outer"], p["frame"])
    joined = np.concatenate([inputs[1], rows], axis=2)
    return [joined[:, :, :p["frame"]].reshape(x.shape), joined[:, :, p["frame"]:].copy()]


@register
class SignalDelay(OpDef):
    name = "signal_delay"
    tflite = ("SignalDelay",)
    kernels = {"signal_delay": run}
    dtypes = frozenset({("int16", "int16")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        tensor_is(graph, node, x.name, "int16", what="the input")
        tensor_is(graph, node, y.name, "int16", what="the output")
        expect(len(x.shape) >= 1, node, "the input must have rank >= 1")
        expect(y.shape == x.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        int_attr(node, "delay_length", 0, 1 << 16)

    def lower(self, node: Node, graph: Graph) -> Step:
        x = graph.tensor(node.inputs[0])
        delay, outer = int(node.attrs["delay_length"]), x.size // x.shape[-1]
        state = [State(f"{node.name}:history", "int16", (outer, delay))] if delay else []
        return Step("signal_delay", node.name, [x.name], [node.outputs[0]],
                    {"delay": delay, "frame": x.shape[-1], "outer": outer}, state=state)
