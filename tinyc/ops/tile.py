"""TILE and BROADCAST_TO: one block copy whose zero source strides repeat the input."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import KERNELS, block, lower_copy, strides_of


@register
class Tile(OpDef):
    name = "tile"
    tflite = ("TILE",)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        m = tuple(node.attrs["multiples"])
        expect(len(m) == len(x.shape) and all(k >= 1 for k in m), node, f"multiples {list(m)} are wrong")
        expect(y.dtype == x.dtype and y.shape == tuple(d * k for d, k in zip(x.shape, m, strict=True)), node,
               f"output {list(y.shape)} is not {list(x.shape)} tiled {list(m)} times")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]).shape, graph.tensor(node.outputs[0]).shape
        os_, ss = strides_of(y), strides_of(x)
        shape, out_st, src_st = [], [], []
        for d, k in enumerate(node.attrs["multiples"]):  # out index (r * size + i): r repeats, i walks the input
            shape += [int(k), x[d]]
            out_st += [x[d] * os_[d], os_[d]]
            src_st += [0, ss[d]]
        return lower_copy(node, graph, [block(0, "in0", tuple(shape), tuple(out_st), tuple(src_st))])


@register
class BroadcastTo(OpDef):
    name = "broadcast_to"
    tflite = ("BROADCAST_TO",)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        pad = len(y.shape) - len(x.shape)
        ok = pad >= 0 and all(a in (1, b) for a, b in zip(x.shape, y.shape[pad:], strict=True))
        expect(ok and y.dtype == x.dtype, node, f"cannot broadcast {list(x.shape)} to {list(y.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]).shape, graph.tensor(node.outputs[0]).shape
        xs = (1,) * (len(y) - len(x)) + x
        src = tuple(0 if a == 1 else s for a, s in zip(xs, strides_of(xs), strict=True))
        return lower_copy(node, graph, [block(0, "in0", y, strides_of(y), src)])
