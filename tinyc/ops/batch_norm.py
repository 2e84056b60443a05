"""Per-channel affine y = x * scale[c] + offset[c] over the last (channel) axis, with fused activation.

Inference-mode batch normalization (scale = gamma / sqrt(var + eps), offset = beta - mean * scale),
and also a multiplication or division by a per-channel constant. tinyc.passes folds it into a
preceding conv2d / depthwise_conv2d / fully_connected; it remains as an op only where no such
producer exists. Float only: quantize after folding.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import activation_of, output_bounds


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    out = inputs[0].astype(np.float32) * c["scale"] + c["offset"]
    return [np.clip(out, np.float32(p["act_min"]), np.float32(p["act_max"])).astype(np.float32)]


@register
class BatchNorm(OpDef):
    name = "batch_norm"
    arity = (3, 3)
    kernels = {"batch_norm_f32": run_f32}

    def check(self, node: Node, graph: Graph) -> None:
        x, scale, offset, y = (graph.tensor(n) for n in node.inputs + node.outputs)
        activation_of(node)
        expect(x.dtype == "float32" and y.dtype == "float32", node,
               "only float32 is supported (fold it into the preceding conv before quantizing)")
        expect(y.shape == x.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        channels = x.shape[-1] if x.shape else 1
        for t in (scale, offset):
            expect(t.is_const and t.shape == (channels,), node,
                   f"'{t.name}' must be a constant of {channels} values (per channel), got {list(t.shape)}")

    def macs(self, node: Node, graph: Graph) -> int:
        return graph.tensor(node.inputs[0]).size

    def lower(self, node: Node, graph: Graph) -> Step:
        scale, offset = (graph.tensor(n).data.astype(np.float32) for n in node.inputs[1:])
        return Step("batch_norm_f32", node.name, [node.inputs[0]], [node.outputs[0]],
                    dict(output_bounds(node, graph)), {"scale": scale, "offset": offset},
                    macs=self.macs(node, graph))
