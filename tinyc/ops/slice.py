"""SLICE and STRIDED_SLICE (begin/end/shrink masks, negative indices and strides, as TFLM): one block copy."""

from __future__ import annotations

import math

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import KERNELS, dense, lower_copy

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def slice_box(node: Node, graph: Graph) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """SLICE: (begin, size) per input dimension, size -1 meaning to the end."""
    x = graph.tensor(node.inputs[0]).shape
    begin, size = tuple(node.attrs["begin"]), tuple(node.attrs["size"])
    expect(len(begin) == len(size) == len(x), node, f"begin {list(begin)} and size {list(size)} must have "
           f"{len(x)} entries")
    size = tuple(d - b if s == -1 else s for b, s, d in zip(begin, size, x, strict=True))
    for b, s, d in zip(begin, size, x, strict=True):
        expect(0 <= b and 0 < s and b + s <= d, node, f"slice begin {list(begin)} size {list(size)} is outside "
               f"{list(x)}")
    return begin, size


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def strided_box(node: Node, graph: Graph) -> tuple[list[int], list[int], list[int], tuple[int, ...]]:
    """STRIDED_SLICE as TFLM resolves it (StartForAxis / StopForAxis): start, stride and count per input
    dimension, and the output shape (shrunk axes dropped). TFLM ignores ellipsis and new-axis masks: refused."""
    a = node.attrs
    x = graph.tensor(node.inputs[0]).shape
    begin, end, strides = list(a["begin"]), list(a["end"]), list(a["strides"])
    expect(len(begin) == len(end) == len(strides) == len(x), node,
           f"begin, end and strides must have {len(x)} entries (one per input dimension)")
    expect(not a.get("ellipsis_mask", 0) and not a.get("new_axis_mask", 0) and not a.get("offset", False), node,
           "ellipsis_mask, new_axis_mask and offset are not supported (TFLM ignores them)")
    bm, em, sm = int(a.get("begin_mask", 0)), int(a.get("end_mask", 0)), int(a.get("shrink_axis_mask", 0))
    starts, counts, shape = [], [], []
    for d, size in enumerate(x):
        stride = int(strides[d])
        expect(stride != 0, node, "a stride is 0")
        start = int(begin[d])
        if bm >> d & 1:
            start = INT_MIN if stride > 0 else INT_MAX
        start = start + size if start < 0 else start
        start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
        if sm >> d & 1:
            stop = start + 1
        else:
            stop = int(end[d])
            if em >> d & 1:
                stop = INT_MAX if stride > 0 else INT_MIN
            stop = stop + size if stop < 0 else stop
            stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
        count = max(0, math.ceil((stop - start) / stride))
        expect(count > 0 and 0 <= start < size, node, f"axis {d} selects no element")
        starts.append(start)
        counts.append(count)
        if not sm >> d & 1:
            shape.append(count)
    return starts, [int(s) for s in strides], counts, tuple(shape)


@register
class Slice(OpDef):
    name = "slice"
    tflite = ("SLICE",)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def check(self, node: Node, graph: Graph) -> None:
        _, size = slice_box(node, graph)
        y = graph.tensor(node.outputs[0])
        expect(y.shape == size and y.dtype == graph.tensor(node.inputs[0]).dtype, node,
               f"output {y.dtype}{list(y.shape)} is wrong, expected {list(size)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        begin, size = slice_box(node, graph)
        x = graph.tensor(node.inputs[0]).shape
        return lower_copy(node, graph, [dense(0, "in0", size, size, x, src_start=begin)])


@register
class StridedSlice(OpDef):
    name = "strided_slice"
    tflite = ("STRIDED_SLICE",)
    kernels = KERNELS
    dtypes = None  # any dtype, the same in and out (ANY_SAME)

    def check(self, node: Node, graph: Graph) -> None:
        shape = strided_box(node, graph)[3]
        y = graph.tensor(node.outputs[0])
        expect(y.shape == (shape or (1,)) and y.dtype == graph.tensor(node.inputs[0]).dtype, node,
               f"output {y.dtype}{list(y.shape)} is wrong, expected {list(shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        starts, strides, counts, _ = strided_box(node, graph)
        x = graph.tensor(node.inputs[0]).shape
        box = tuple(counts)
        return lower_copy(node, graph, [dense(0, "in0", box, box, x, src_start=tuple(starts),
                                              src_step=tuple(strides))])
