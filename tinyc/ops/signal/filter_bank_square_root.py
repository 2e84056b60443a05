"""SignalFilterBankSquareRoot: rounded square roots of uint64 channels, shifted right by a runtime int32.

As signal/src/filter_bank_square_root.cc with Sqrt64 / Sqrt32 (and Sqrt64's shortcut to the 32-bit root while
the upper word is clear). A shift outside 0..31 is undefined in C; tinyc takes it modulo 32 as x86 and Arm
cores do for 32-bit shifts.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import tensor_is
from tinyc.ops.signal._fixed import sqrt64


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x, shift = inputs
    s = (shift.reshape(len(x), 1).astype(np.int64) & 31).astype(np.uint64)
    return [(sqrt64(x) >> s).astype(np.uint32)]


@register
class SignalFilterBankSquareRoot(OpDef):
    name = "signal_filter_bank_square_root"
    tflite = ("SignalFilterBankSquareRoot",)
    arity = (2, 2)
    kernels = {"signal_filter_bank_square_root": run}
    dtypes = frozenset({("uint64", "uint32"), ("int32", "uint32")})

    def check(self, node: Node, graph: Graph) -> None:
        x, s, y = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
        tensor_is(graph, node, x.name, "uint64", rank=1, what="the input")
        tensor_is(graph, node, s.name, "int32", what="the shift")
        tensor_is(graph, node, y.name, "uint32", rank=1, what="the output")
        expect(s.size == 1, node, f"the shift must be a scalar, got shape {list(s.shape)}")
        expect(y.size == x.size, node, f"{x.size} inputs but {y.size} outputs")
        expect(not s.is_const, node, "a constant shift is not supported (it comes from SignalFftAutoScale)")

    def lower(self, node: Node, graph: Graph) -> Step:
        return Step("signal_filter_bank_square_root", node.name, list(node.inputs), [node.outputs[0]],
                    {"size": graph.tensor(node.inputs[0]).size})
