"""PAD / PADV2 (a constant: the int8 output zero point unless given) and MIRROR_PAD (REFLECT, SYMMETRIC).

`pads` holds (before, after) per dimension. A constant pad fills the output, then copies the input into its
interior; when the interior is one contiguous run (padding along the outermost non-unit axis only) it fills just
the runs before and after it, so the memory plan can have the input's producer write the interior in place
(tinyc/memory/views.py); a mirror pad is one block per region (before / inside / after on each axis), read backwards
(negative source strides) in the mirrored regions, as TFLM's GetInputDimension maps them.
"""

from __future__ import annotations

import itertools

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import FILL, KERNELS, block, dense, lower_copy, strides_of

MAX_RANK = 5  # TFLM's PadKernelMaxDimensionCount


def pads_of(node: Node, graph: Graph) -> list[tuple[int, int]]:
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    pads = [(int(a), int(b)) for a, b in node.attrs["pads"]]
    expect(len(pads) == len(x.shape) <= MAX_RANK, node, f"needs one (before, after) pair per dimension, at most "
           f"{MAX_RANK}, got {pads}")
    expect(all(a >= 0 and b >= 0 for a, b in pads), node, f"negative padding {pads}")
    want = tuple(d + a + b for d, (a, b) in zip(x.shape, pads, strict=True))
    expect(y.shape == want and y.dtype == x.dtype, node, f"output {list(y.shape)} is not {list(want)}")
    return pads


def pad_value(node: Node, graph: Graph) -> int | float:
    """The fill: the given constant, else the int8 output's zero point (TFLM), else 0."""
    if "value" in node.attrs:
        return node.attrs["value"]
    y = graph.tensor(node.outputs[0])
    return y.quant.zp if y.dtype == "int8" and y.quant is not None else 0


@register
class Pad(OpDef):
    name = "pad"
    tflite = ("PAD", "PADV2")
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def check(self, node: Node, graph: Graph) -> None:
        pads_of(node, graph)

    def lower(self, node: Node, graph: Graph) -> Step:
        pads = pads_of(node, graph)
        x, y = graph.tensor(node.inputs[0]).shape, graph.tensor(node.outputs[0]).shape
        inner = dense(0, "in0", x, y, x, out_start=tuple(a for a, _ in pads))
        size, total = int(np.prod(x)), int(np.prod(y))
        if x == y:
            blocks = [inner]
        elif inner.shape == (size,) and inner.out_strides == (1,):
            start = inner.out_offset
            blocks = [block(0, FILL, (n,), (1,), (0,), out_offset=at) for at, n in
                      ((0, start), (start + size, total - start - size)) if n] + [inner]
        else:
            blocks = [block(0, FILL, y, strides_of(y), (0,) * len(y)), inner]
        return lower_copy(node, graph, blocks, fill=pad_value(node, graph))


@register
class MirrorPad(OpDef):
    name = "mirror_pad"
    tflite = ("MIRROR_PAD",)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def check(self, node: Node, graph: Graph) -> None:
        pads = pads_of(node, graph)
        mode = node.attrs.get("mode")
        expect(mode in ("reflect", "symmetric"), node, f"mode must be reflect or symmetric, got {mode}")
        offset = 1 if mode == "reflect" else 0
        x = graph.tensor(node.inputs[0]).shape
        expect(all(a <= d - offset and b <= d - offset for (a, b), d in zip(pads, x, strict=True)), node,
               f"{mode} padding {pads} is wider than the input {list(x)} allows")

    def lower(self, node: Node, graph: Graph) -> Step:
        pads = pads_of(node, graph)
        offset = 1 if node.attrs["mode"] == "reflect" else 0
        x, y = graph.tensor(node.inputs[0]).shape, graph.tensor(node.outputs[0]).shape
        per_axis = []  # (output start, count, source start, source step) of each region of each axis
        for d, (a, b) in zip(x, pads, strict=True):
            regions = [(0, a, a - 1 + offset, -1), (a, d, 0, 1), (a + d, b, d - 1 - offset, -1)]
            per_axis.append([r for r in regions if r[1] > 0])
        blocks = []
        for combo in itertools.product(*per_axis):
            blocks.append(dense(0, "in0", tuple(r[1] for r in combo), y, x, out_start=tuple(r[0] for r in combo),
                                src_start=tuple(r[2] for r in combo), src_step=tuple(r[3] for r in combo)))
        return lower_copy(node, graph, blocks)
