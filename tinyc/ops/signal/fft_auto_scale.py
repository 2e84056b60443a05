"""SignalFftAutoScale: shift int16 samples left as far as their largest magnitude allows; output the shift too.

As signal/src/fft_auto_scale.cc with MaxAbs16's loop (its `-value` wraps for -32768, which then loses the
maximum) and MostSignificantBit32 of GCC builds (32 for zero).
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import tensor_is
from tinyc.ops.signal._fixed import max_abs16, msb32, u32, wrap16


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0].reshape(len(inputs[0]), -1).astype(np.int64)
    bits = np.maximum(16 - msb32(u32(max_abs16(x))) - 1, 0)
    y = wrap16(x * (np.int64(1) << bits[:, None]))
    scale = bits.astype(np.int32).reshape(len(x), *step.params["scale_shape"])
    return [y.astype(np.int16).reshape(inputs[0].shape), scale]


@register
class SignalFftAutoScale(OpDef):
    name = "signal_fft_auto_scale"
    tflite = ("SignalFftAutoScale",)
    outputs = (2, 2)
    kernels = {"signal_fft_auto_scale": run}
    dtypes = frozenset({("int16", "int16"), ("int16", "int32")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y, s = (graph.tensor(n) for n in (node.inputs[0], *node.outputs))
        tensor_is(graph, node, x.name, "int16", rank=1, what="the input")
        tensor_is(graph, node, y.name, "int16", rank=1, what="output 0")
        tensor_is(graph, node, s.name, "int32", what="output 1 (the scale)")
        expect(y.shape == x.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        expect(s.size == 1, node, f"output 1 (the scale) must be a scalar, got shape {list(s.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        return Step("signal_fft_auto_scale", node.name, [node.inputs[0]], list(node.outputs),
                    {"size": graph.tensor(node.inputs[0]).size, "scale_shape": graph.tensor(node.outputs[1]).shape})
