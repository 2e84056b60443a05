"""CONCATENATION and PACK: inputs (activations or constants) side by side along an axis, as block copies."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import KERNELS, dense, lower_copy, positive_axis


def check_same_dtype(node: Node, graph: Graph) -> None:
    dtypes = {graph.tensor(n).dtype for n in node.inputs + node.outputs if n}
    expect(len(dtypes) == 1, node, f"inputs and outputs must share one dtype, got {sorted(dtypes)}")


@register
class Concatenation(OpDef):
    name = "concatenation"
    tflite = ("CONCATENATION",)
    arity = (1, 64)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def check(self, node: Node, graph: Graph) -> None:
        check_same_dtype(node, graph)
        expect(node.attrs.get("activation", "none") == "none", node, "a fused activation is not supported "
               "(TFLM refuses it too)")
        shapes = [graph.tensor(n).shape for n in node.inputs]
        y = graph.tensor(node.outputs[0]).shape
        axis = positive_axis(int(node.attrs["axis"]), len(y), node)
        for s in shapes:
            expect(len(s) == len(y) and s[:axis] + s[axis + 1:] == y[:axis] + y[axis + 1:], node,
                   f"input shape {list(s)} does not fit output {list(y)} along axis {axis}")
        expect(sum(s[axis] for s in shapes) == y[axis], node, f"inputs do not add up to {y[axis]} along axis {axis}")

    def lower(self, node: Node, graph: Graph) -> Step:
        y = graph.tensor(node.outputs[0]).shape
        axis = positive_axis(int(node.attrs["axis"]), len(y), node)
        return lower_copy(node, graph, *concat_blocks(node, graph, axis, y, unit=False))


def concat_blocks(node: Node, graph: Graph, axis: int, y: tuple[int, ...], unit: bool) -> tuple:
    """Blocks placing each input at its offset along `axis` (`unit`: each input is one slice, as in PACK)."""
    from tinyc.ops._movement import const_inputs

    names = const_inputs(node, graph)
    blocks, at = [], 0
    for name in node.inputs:
        s = graph.tensor(name).shape
        box = s[:axis] + (1,) + s[axis:] if unit else s
        start = tuple(at if d == axis else 0 for d in range(len(y)))
        blocks.append(dense(0, names[name], box, y, box, out_start=start))
        at += box[axis]
    consts = {k: graph.tensor(n).data for n, k in names.items() if k.startswith("k")}
    return blocks, 0, consts


@register
class Pack(OpDef):
    name = "pack"
    tflite = ("PACK",)
    arity = (1, 64)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def check(self, node: Node, graph: Graph) -> None:
        check_same_dtype(node, graph)
        shapes = {graph.tensor(n).shape for n in node.inputs}
        expect(len(shapes) == 1, node, f"inputs must share one shape, got {sorted(map(list, shapes))}")
        s = shapes.pop()
        y = graph.tensor(node.outputs[0]).shape
        axis = positive_axis(int(node.attrs["axis"]), len(s) + 1, node)
        expect(y == s[:axis] + (len(node.inputs),) + s[axis:], node, f"output shape {list(y)} is wrong")

    def lower(self, node: Node, graph: Graph) -> Step:
        y = graph.tensor(node.outputs[0]).shape
        axis = positive_axis(int(node.attrs["axis"]), len(y), node)
        return lower_copy(node, graph, *concat_blocks(node, graph, axis, y, unit=True))
