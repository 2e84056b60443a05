"""SignalStacker: stack the last left + 1 + right frames of num_channels int16 values (stacker.cc).

Frames go into a buffer of (left + right + 1) frames; the first frame after a reset is repeated left more
times; when the buffer is full it is the output and its oldest stacker_step frames are dropped. Output 1
(bool) says whether this invocation produced an output (TFLM leaves it unwritten otherwise; tinyc writes 0).
The buffer is state, kept linear (oldest first); a second state buffer holds its fill count and whether the
first frame has come.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import State, Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import int_attr, tensor_is


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x, samples, meta = inputs
    nc, size, hop, left = p["channels"], p["size"], p["step"], p["left"]
    buf, meta = samples.copy(), meta.copy()
    y = np.zeros((len(x), size), dtype=np.int16)
    valid = np.zeros(len(x), dtype=bool)
    for b in range(len(x)):
        have = int(meta[b, 0])
        buf[b, have:have + nc] = x[b].reshape(-1)
        have += nc
        if not meta[b, 1]:
            for _ in range(left):
                buf[b, have:have + nc] = buf[b, have - nc:have]
                have += nc
            meta[b, 1] = 1
        if have >= size:
            y[b] = buf[b, :size]
            buf[b, :have - hop] = buf[b, hop:have].copy()
            have -= hop
            valid[b] = True
        meta[b, 0] = have
    return [y.reshape(len(x), *p["out_shape"]), valid.reshape(len(x), *p["valid_shape"]), buf, meta]


@register
class SignalStacker(OpDef):
    name = "signal_stacker"
    tflite = ("SignalStacker",)
    outputs = (2, 2)
    kernels = {"signal_stacker": run}
    dtypes = frozenset({("int16", "int16"), ("int16", "bool")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y, v = (graph.tensor(n) for n in (node.inputs[0], *node.outputs))
        tensor_is(graph, node, x.name, "int16", rank=1, what="the input")
        tensor_is(graph, node, y.name, "int16", rank=1, what="output 0")
        tensor_is(graph, node, v.name, "bool", what="output 1 (valid)")
        expect(v.size == 1, node, f"output 1 (valid) must be a scalar, got shape {list(v.shape)}")
        nc = int_attr(node, "num_channels", 1, 1 << 16)
        left = int_attr(node, "stacker_left_context", 0, 1 << 10)
        right = int_attr(node, "stacker_right_context", 0, 1 << 10)
        frames = left + right + 1
        int_attr(node, "stacker_step", 1, frames)
        expect(x.size == nc, node, f"the input has {x.size} values, num_channels is {nc}")
        expect(y.size == nc * frames, node, f"output 0 must hold {frames} frames of {nc} ({nc * frames} values), "
               f"has {y.size}")

    def lower(self, node: Node, graph: Graph) -> Step:
        a = node.attrs
        nc = int(a["num_channels"])
        size = nc * (int(a["stacker_left_context"]) + int(a["stacker_right_context"]) + 1)
        state = [State(f"{node.name}:frames", "int16", (size,)), State(f"{node.name}:count", "int32", (2,))]
        return Step("signal_stacker", node.name, [node.inputs[0]], list(node.outputs),
                    {"channels": nc, "size": size, "step": nc * int(a["stacker_step"]),
                     "left": int(a["stacker_left_context"]), "out_shape": graph.tensor(node.outputs[0]).shape,
                     "valid_shape": graph.tensor(node.outputs[1]).shape}, state=state)
