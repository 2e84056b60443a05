"""GATHER: with batch_dims 0 and constant indices one block copy per run of consecutive indices; with indices known
at run time only or batch_dims > 0 (each of the leading batch_dims batches picks with its own indices, as TFLM), the
run-time gather kernel (tinyc/ops/_indexed.py)."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._indexed import KERNELS as INDEXED
from tinyc.ops._indexed import dtypes_for, lower_gather_rows
from tinyc.ops._movement import KERNELS, block, lower_copy, positive_axis

VALUES = ("float32", "int8", "uint8", "int16", "int32", "int64", "uint32", "uint64", "bool")


def _runs(values: list[int]) -> list[tuple[int, int, int]]:
    """(first position, first value, length) of each run of consecutive increasing values."""
    runs: list[list[int]] = []
    for pos, v in enumerate(values):
        if runs and runs[-1][1] + runs[-1][2] == v:
            runs[-1][2] += 1
        else:
            runs.append([pos, v, 1])
    return [tuple(r) for r in runs]


@register
class Gather(OpDef):
    name = "gather"
    arity = (2, 2)
    tflite = ("GATHER",)
    kernels = KERNELS | INDEXED
    dtypes = dtypes_for(VALUES)  # any dtype, the same in and out; indices int32/int64

    def batch_dims(self, node: Node, graph: Graph, axis: int) -> int:
        """TFLM's batch_dims: negative counted from the indices' rank, 0 <= batch_dims <= axis, leading dims equal."""
        x, idx = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
        bd = int(node.attrs.get("batch_dims", 0))
        bd = bd + len(idx.shape) if bd < 0 else bd
        expect(0 <= bd <= min(axis, len(idx.shape)) and bd < len(x.shape), node,
               f"batch_dims {node.attrs.get('batch_dims')} is outside 0..{min(axis, len(idx.shape))}")
        expect(x.shape[:bd] == idx.shape[:bd], node, f"the first {bd} dimensions of the input {list(x.shape)} and "
               f"the indices {list(idx.shape)} differ")
        return bd

    def check(self, node: Node, graph: Graph) -> None:
        x, idx, y = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
        expect(idx.dtype in ("int32", "int64"), node, "indices must be an int32/int64 tensor")
        axis = positive_axis(int(node.attrs.get("axis", 0)), len(x.shape), node)
        bd = self.batch_dims(node, graph, axis)
        expect(not idx.is_const or bool(np.all((idx.data >= 0) & (idx.data < x.shape[axis]))), node,
               f"an index is outside 0..{x.shape[axis] - 1}")
        want = x.shape[:axis] + idx.shape[bd:] + x.shape[axis + 1:]
        scalar = x.shape[:axis] + x.shape[axis + 1:]  # a scalar index (IR shape (1,)) drops the axis
        expect(y.shape in (want or (1,), scalar or (1,)) and y.dtype == x.dtype, node,
               f"output {list(y.shape)} is not {list(want)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, idx = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
        axis = positive_axis(int(node.attrs.get("axis", 0)), len(x.shape), node)
        bd = self.batch_dims(node, graph, axis)
        outer = int(np.prod(x.shape[:axis], dtype=np.int64))
        inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
        n = idx.size
        if not idx.is_const or bd:
            return lower_gather_rows(node.name, x, idx, graph.tensor(node.outputs[0]), outer, (x.shape[axis],), inner,
                                     int(np.prod(x.shape[:bd], dtype=np.int64)))
        blocks = [block(0, "in0", (outer, length * inner), (n * inner, 1), (x.shape[axis] * inner, 1),
                        out_offset=pos * inner, src_offset=v * inner)
                  for pos, v, length in _runs([int(v) for v in idx.data.reshape(-1)])]
        return lower_copy(node, graph, blocks, inputs=[x.name])
