"""SignalOverlapAdd: overlap-add frames of frame_size samples at a hop of frame_step (overlap_add.cc).

Each row [n_frames, frame_size] adds every frame into the row's buffer (int16: saturated; float32: plain
float32 adds), emits the buffer's first frame_step values and shifts it by them. The buffer is state (zeros
at reset).
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import State, Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import int_attr, tensor_is

DTYPES = ("int16", "float32")


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x, buf = inputs[0], inputs[1].copy()
    n, size, hop = p["frames"], p["frame_size"], p["frame_step"]
    frames = x.reshape(len(x), p["outer"], n, size)
    y = np.zeros((len(x), p["outer"], n, hop), dtype=x.dtype)
    for f in range(n):
        if p["dtype"] == "int16":
            buf = np.clip(frames[:, :, f].astype(np.int32) + buf, -32768, 32767).astype(np.int16)
        else:
            with np.errstate(over="ignore"):  # float32 sums overflow to inf as in C
                buf = buf + frames[:, :, f]
        y[:, :, f] = buf[:, :, :hop]
        buf = np.concatenate([buf[:, :, hop:], np.zeros_like(buf[:, :, :hop])], axis=2)
    return [y.reshape(len(x), *p["out_shape"]), buf]


@register
class SignalOverlapAdd(OpDef):
    name = "signal_overlap_add"
    tflite = ("SignalOverlapAdd",)
    kernels = {"signal_overlap_add": run}
    dtypes = frozenset((d, d) for d in DTYPES)

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        dtype = node.attrs.get("dtype")
        expect(dtype in DTYPES, node, f"only {' and '.join(DTYPES)} are supported, not {dtype}")
        tensor_is(graph, node, x.name, dtype, what="the input")
        tensor_is(graph, node, y.name, dtype, rank=len(x.shape) - 1, what="the output")
        expect(len(x.shape) >= 2, node, f"the input must have rank >= 2 ([..., frames, frame_size]), got "
               f"{list(x.shape)}")
        hop = int_attr(node, "frame_step", 1, 1 << 16)
        expect(hop <= x.shape[-1], node, f"frame_step {hop} is longer than the frames ({x.shape[-1]})")
        want = (*x.shape[:-2], x.shape[-2] * hop)
        expect(y.shape == want, node, f"the output must have shape {list(want)}, got {list(y.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        outer, size = x.size // (x.shape[-1] * x.shape[-2]), x.shape[-1]
        state = [State(f"{node.name}:buffer", x.dtype, (outer, size))]
        return Step("signal_overlap_add", node.name, [x.name], [y.name],
                    {"dtype": x.dtype, "frames": x.shape[-2], "frame_size": size,
                     "frame_step": int(node.attrs["frame_step"]), "outer": outer, "out_shape": y.shape},
                    state=state)
