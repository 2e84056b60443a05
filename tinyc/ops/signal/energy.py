"""SignalEnergy: |z|^2 of complex int16 bins start_index..end_index-1 as uint32 (signal/src/energy.cc).

TFLM leaves the other output bins unwritten (whatever the arena held); tinyc writes 0 there. Models slice the
range out (micro_speech does), so their results do not depend on it.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import int_attr, tensor_is
from tinyc.ops.signal._fixed import U32


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    z = inputs[0].reshape(len(inputs[0]), -1, 2).astype(np.int64)
    e = (z[..., 0] * z[..., 0]).astype(np.uint64) + (z[..., 1] * z[..., 1]).astype(np.uint64)
    out = np.zeros(e.shape, dtype=np.uint32)
    out[:, p["start"]:p["end"]] = (e[:, p["start"]:p["end"]] & U32).astype(np.uint32)
    return [out]


@register
class SignalEnergy(OpDef):
    name = "signal_energy"
    tflite = ("SignalEnergy",)
    kernels = {"signal_energy": run}
    dtypes = frozenset({("int16", "uint32")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        tensor_is(graph, node, x.name, "int16", rank=1, what="the input")
        tensor_is(graph, node, y.name, "uint32", rank=1, what="the output")
        expect(x.size == 2 * y.size, node, f"{x.size} int16 values are not {y.size} complex values")
        end = int_attr(node, "end_index", 0, y.size)
        int_attr(node, "start_index", 0, end)

    def lower(self, node: Node, graph: Graph) -> Step:
        return Step("signal_energy", node.name, [node.inputs[0]], [node.outputs[0]],
                    {"start": int(node.attrs["start_index"]), "end": int(node.attrs["end_index"]),
                     "size": graph.tensor(node.outputs[0]).size})
