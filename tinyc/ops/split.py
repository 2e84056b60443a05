"""SPLIT, SPLIT_V and UNPACK: consecutive pieces of the input along an axis into several outputs."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import KERNELS, dense, lower_copy, positive_axis


def split_blocks(node: Node, graph: Graph, axis: int, unit: bool) -> list:
    x = graph.tensor(node.inputs[0]).shape
    blocks, at = [], 0
    for k, name in enumerate(node.outputs):
        y = graph.tensor(name).shape
        box = x[:axis] + (1,) + x[axis + 1:] if unit else y
        start = tuple(at if d == axis else 0 for d in range(len(x)))
        blocks.append(dense(k, "in0", box, box, x, src_start=start))
        at += box[axis]
    return blocks


class _Split(OpDef):
    arity = (1, 1)
    outputs = (1, 64)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)
    unit = False  # UNPACK: each output is one slice, its axis removed

    def axis(self, node: Node, graph: Graph) -> int:
        return positive_axis(int(node.attrs["axis"]), len(graph.tensor(node.inputs[0]).shape), node)

    def check(self, node: Node, graph: Graph) -> None:
        x = graph.tensor(node.inputs[0])
        axis = self.axis(node, graph)
        ys = [graph.tensor(n) for n in node.outputs]
        expect(all(y.dtype == x.dtype for y in ys), node, "outputs must have the input's dtype")
        if self.unit:
            want = x.shape[:axis] + x.shape[axis + 1:]
            expect(len(ys) == x.shape[axis] and all(y.shape == (want or (1,)) for y in ys), node,
                   f"needs {x.shape[axis]} outputs of shape {list(want)}")
            return
        for y in ys:
            expect(len(y.shape) == len(x.shape) and y.shape[:axis] + y.shape[axis + 1:] ==
                   x.shape[:axis] + x.shape[axis + 1:], node, f"output shape {list(y.shape)} does not fit "
                   f"{list(x.shape)} along axis {axis}")
        expect(sum(y.shape[axis] for y in ys) == x.shape[axis], node, f"outputs do not add up to "
               f"{x.shape[axis]} along axis {axis}")
        self.check_sizes(node, x.shape[axis], [y.shape[axis] for y in ys])

    def check_sizes(self, node: Node, total: int, sizes: list[int]) -> None:
        pass

    def lower(self, node: Node, graph: Graph) -> Step:
        return lower_copy(node, graph, split_blocks(node, graph, self.axis(node, graph), self.unit))


@register
class Split(_Split):
    name = "split"
    tflite = ("SPLIT",)

    def check_sizes(self, node: Node, total: int, sizes: list[int]) -> None:
        expect(len(set(sizes)) == 1, node, f"SPLIT makes equal pieces, got sizes {sizes}")


@register
class SplitV(_Split):
    name = "split_v"
    tflite = ("SPLIT_V",)

    def check_sizes(self, node: Node, total: int, sizes: list[int]) -> None:
        given = list(node.attrs.get("size_splits", sizes))
        expect(len(given) == len(sizes) and all(g in (s, -1) for g, s in zip(given, sizes, strict=True)), node,
               f"size_splits {given} do not give the output sizes {sizes}")


@register
class Unpack(_Split):
    name = "unpack"
    tflite = ("UNPACK",)
    unit = True
