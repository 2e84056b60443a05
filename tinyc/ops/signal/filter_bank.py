"""SignalFilterBank: uint32 energies into num_channels uint64 triangular (mel) channels (signal/src/filter_bank.cc).

Each of the num_channels + 1 bands adds weights * energy to its channel and unweights * energy to the next;
band 0 only feeds channel 1. The int16 weights are converted to uint64 as C does (negative ones wrap), and the
sums wrap modulo 2**64. Every band must lie inside the energies and the weight tables (TFLM does not check).
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import const_of, int_attr, tensor_is

TABLES = ("weights", "unweights", "channel_frequency_starts", "channel_weight_starts", "channel_widths")


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    c = step.consts
    x = inputs[0].astype(np.uint64)
    w, uw = c["weights"].astype(np.int64).astype(np.uint64), c["unweights"].astype(np.int64).astype(np.uint64)
    out = np.zeros((len(x), step.params["channels"] + 1), dtype=np.uint64)
    carry = np.zeros(len(x), dtype=np.uint64)
    for i, (fs, ws, width) in enumerate(zip(c["channel_frequency_starts"], c["channel_weight_starts"],
                                            c["channel_widths"], strict=True)):
        band = x[:, fs:fs + width]
        out[:, i] = carry + (band * w[ws:ws + width]).sum(axis=1, dtype=np.uint64)
        carry = (band * uw[ws:ws + width]).sum(axis=1, dtype=np.uint64)
    return [out[:, 1:]]


@register
class SignalFilterBank(OpDef):
    name = "signal_filter_bank"
    tflite = ("SignalFilterBank",)
    arity = (6, 6)
    kernels = {"signal_filter_bank": run}
    dtypes = frozenset({("uint32", "uint64")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        tensor_is(graph, node, x.name, "uint32", rank=1, what="the input")
        tensor_is(graph, node, y.name, "uint64", rank=1, what="the output")
        n = int_attr(node, "num_channels", 1, 1 << 16)
        expect(y.size == n, node, f"the output has {y.size} channels, num_channels is {n}")
        tables = {}
        for k, what in enumerate(TABLES, start=1):
            tables[what] = const_of(graph, node, k, what)
            tensor_is(graph, node, node.inputs[k], "int16", rank=1, what=f"the {what} table")
        for what in TABLES[2:]:
            expect(tables[what].size == n + 1, node, f"the {what} table needs {n + 1} entries, has "
                   f"{tables[what].size}")
        expect(tables["weights"].size == tables["unweights"].size, node, "weights and unweights differ in length")
        for i in range(n + 1):
            fs, ws, width = (int(tables[k][i]) for k in TABLES[2:])
            expect(fs >= 0 and ws >= 0 and width >= 0, node, f"band {i} has a negative start or width")
            expect(fs + width <= x.size, node, f"band {i} reads energies {fs}..{fs + width - 1} of {x.size}")
            expect(ws + width <= tables["weights"].size, node,
                   f"band {i} reads weights {ws}..{ws + width - 1} of {tables['weights'].size}")

    def lower(self, node: Node, graph: Graph) -> Step:
        consts = {k: graph.tensor(n).data.reshape(-1) for k, n in zip(TABLES, node.inputs[1:], strict=True)}
        n = int(node.attrs["num_channels"])
        macs = 2 * int(consts["channel_widths"].astype(np.int64).sum())
        return Step("signal_filter_bank", node.name, [node.inputs[0]], [node.outputs[0]], {"channels": n},
                    consts, macs=macs)
