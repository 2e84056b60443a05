"""DEPTH_TO_SPACE and SPACE_TO_DEPTH (NHWC, TFLM's channel order): one 6-D block copy each."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import KERNELS, block, lower_copy


@register
class DepthToSpace(OpDef):
    name = "depth_to_space"
    tflite = ("DEPTH_TO_SPACE",)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)
    inverse = False  # SPACE_TO_DEPTH

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        b = int(node.attrs["block_size"])
        expect(len(x.shape) == 4 and b >= 1, node, "needs a 4-D NHWC input and a block size >= 1")
        n, h, w, c = x.shape
        if self.inverse:
            ok = h % b == 0 and w % b == 0 and y.shape == (n, h // b, w // b, c * b * b)
        else:
            ok = c % (b * b) == 0 and y.shape == (n, h * b, w * b, c // (b * b))
        expect(ok and x.dtype == y.dtype, node, f"output {list(y.shape)} is wrong for {list(x.shape)}, block {b}")

    def lower(self, node: Node, graph: Graph) -> Step:
        b = int(node.attrs["block_size"])
        if self.inverse:  # loop over the output (n, h, w, bh, bw, c) of input (n, h*b+bh, w*b+bw, c)
            n, h, w, c = graph.tensor(node.inputs[0]).shape
            oh, ow, oc = h // b, w // b, c * b * b
            shape = (n, oh, ow, b, b, c)
            out = (oh * ow * oc, ow * oc, oc, b * c, c, 1)
            src = (h * w * c, b * w * c, b * c, w * c, c, 1)
        else:  # loop over the input (n, h, w, bh, bw, c') into output (n, h*b+bh, w*b+bw, c')
            n, h, w, c = graph.tensor(node.inputs[0]).shape
            oc, ow = c // (b * b), w * b
            shape = (n, h, b, w, b, oc)
            out = (h * b * ow * oc, b * ow * oc, ow * oc, b * oc, oc, 1)
            src = (h * w * c, w * c, b * oc, c, oc, 1)
        return lower_copy(node, graph, [block(0, "in0", shape, out, src)])


@register
class SpaceToDepth(DepthToSpace):
    name = "space_to_depth"
    tflite = ("SPACE_TO_DEPTH",)
    inverse = True
