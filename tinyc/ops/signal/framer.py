"""SignalFramer: cut each row of int16 samples into overlapping frames, keeping samples between invocations.

As signal/micro/kernels/framer.cc: every frame_step new samples go into the row's buffer; once it holds
frame_size samples the oldest frame_size are a frame and frame_step of them are dropped. Output 1 (bool) is
false when some frame of the invocation did not fill up (TFLM leaves those frames unwritten; tinyc writes 0).
The buffer is state: at reset it is empty, or holds frame_size - frame_step zeros with `prefill`. tinyc keeps
it linear (oldest sample first) with its fill count in a second state buffer.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import State, Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import int_attr, tensor_is


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x, samples, count = inputs
    size, hop, n = p["frame_size"], p["frame_step"], p["frames"]
    x = x.reshape(len(x), p["outer"], n, hop)
    buf, count = samples.copy(), count.copy()
    y = np.zeros((len(x), p["outer"], n, size), dtype=np.int16)
    valid = np.ones(len(x), dtype=bool)
    for b in range(len(x)):
        have = int(count[b, 0])
        for f in range(n):
            buf[b, :, have:have + hop] = x[b, :, f]
            have += hop
            if have >= size:
                y[b, :, f] = buf[b, :, :size]
                buf[b, :, :have - hop] = buf[b, :, hop:have].copy()
                have -= hop
            else:
                valid[b] = False
        count[b, 0] = have
    return [y.reshape(len(x), *p["out_shape"]), valid.reshape(len(x), *p["valid_shape"]), buf, count]


@register
class SignalFramer(OpDef):
    name = "signal_framer"
    tflite = ("SignalFramer",)
    outputs = (2, 2)
    kernels = {"signal_framer": run}
    dtypes = frozenset({("int16", "int16"), ("int16", "bool")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y, v = (graph.tensor(n) for n in (node.inputs[0], *node.outputs))
        tensor_is(graph, node, x.name, "int16", what="the input")
        tensor_is(graph, node, y.name, "int16", rank=len(x.shape) + 1, what="output 0")
        tensor_is(graph, node, v.name, "bool", what="output 1 (valid)")
        expect(v.size == 1, node, f"output 1 (valid) must be a scalar, got shape {list(v.shape)}")
        expect(len(x.shape) >= 1, node, "the input must have rank >= 1")
        size = int_attr(node, "frame_size", 1, 1 << 16)
        hop = int_attr(node, "frame_step", 1, 1 << 16)
        expect(isinstance(node.attrs.get("prefill"), bool), node, "attribute 'prefill' must be a bool")
        expect(not node.attrs["prefill"] or hop <= size, node,
               f"prefill needs frame_step <= frame_size, got {hop} > {size}")
        inner = x.shape[-1]
        expect(inner >= hop and inner % hop == 0, node, f"rows of {inner} samples are not a multiple of "
               f"frame_step {hop}")
        want = (*x.shape[:-1], inner // hop, size)
        expect(y.shape == want, node, f"output 0 must have shape {list(want)}, got {list(y.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y, v = (graph.tensor(n) for n in (node.inputs[0], *node.outputs))
        size, hop = int(node.attrs["frame_size"]), int(node.attrs["frame_step"])
        outer = x.size // x.shape[-1]
        capacity = -(-size // hop) * hop  # TFLM's: frame_size rounded up to a multiple of frame_step
        state = [State(f"{node.name}:samples", "int16", (outer, capacity)),
                 State(f"{node.name}:count", "int32", (1,), size - hop if node.attrs["prefill"] else 0)]
        return Step("signal_framer", node.name, [x.name], list(node.outputs),
                    {"frame_size": size, "frame_step": hop, "frames": x.shape[-1] // hop, "outer": outer,
                     "capacity": capacity, "out_shape": y.shape, "valid_shape": v.shape}, state=state)
