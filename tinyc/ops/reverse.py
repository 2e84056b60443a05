"""REVERSE_V2: the input read backwards along the given (contiguous, as TFLM takes) axes, one block copy with
negative strides."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import KERNELS, block, lower_copy, positive_axis, strides_of


@register
class ReverseV2(OpDef):
    name = "reverse_v2"
    tflite = ("REVERSE_V2",)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def axes(self, node: Node, graph: Graph) -> set[int]:
        rank = len(graph.tensor(node.inputs[0]).shape)
        return {positive_axis(int(a), rank, node) for a in node.attrs["axes"]}

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        axes = sorted(self.axes(node, graph))
        expect(bool(axes) and axes == list(range(axes[0], axes[-1] + 1)), node,
               f"axes {list(node.attrs['axes'])} are not contiguous (TFLM reverses contiguous axes only)")
        expect(x.shape == y.shape and x.dtype == y.dtype, node, f"output {list(y.shape)} is not {list(x.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        shape = graph.tensor(node.inputs[0]).shape
        axes, st = self.axes(node, graph), strides_of(shape)
        src = tuple(-s if k in axes else s for k, s in enumerate(st))
        offset = sum((shape[k] - 1) * st[k] for k in axes)
        return lower_copy(node, graph, [block(0, "in0", shape, st, src, src_offset=offset)])
