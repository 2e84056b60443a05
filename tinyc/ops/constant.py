"""A graph output whose value is known at compile time (ONNX Shape, Size, ConstantOfShape, Range of static
operands): the constant is held in flash, like a weight, and one block copy writes it into the output.

Graph outputs are the caller's buffers, so such an output cannot be folded away (tinyc.passes.fold_constants
keeps nodes that write graph outputs); the copy is the data movement machinery's (tinyc.ops._movement), whose
reference kernel and C template run it."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import KERNELS, block, lower_copy


@register
class Constant(OpDef):
    name = "constant"
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.is_const, node, "its input must be a constant")
        expect(x.dtype == y.dtype and x.size == y.size, node,
               f"cannot write a {x.dtype}{list(x.shape)} constant into a {y.dtype}{list(y.shape)} output")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        return lower_copy(node, graph, [block(0, "k0", (y.size,), (1,), (1,))], consts={"k0": x.data}, inputs=[])
