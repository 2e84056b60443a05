"""GATHER_ND (batch_dims 0): indices [..., k] pick slices params[i_0, ..., i_k-1, ...], through the run-time
gather kernel (tinyc/ops/_indexed.py)."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._indexed import KERNELS, dtypes_for, lower_gather_rows


@register
class GatherNd(OpDef):
    name = "gather_nd"
    tflite = ("GATHER_ND",)
    arity = (2, 2)
    kernels = KERNELS
    dtypes = dtypes_for(("float32", "int8", "int16", "int32"))

    def check(self, node: Node, graph: Graph) -> None:
        x, idx, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        k = idx.shape[-1]
        expect(idx.dtype in ("int32", "int64") and 1 <= k <= len(x.shape), node,
               f"indices must be int32/int64 with a last dimension 1..{len(x.shape)}")
        want = idx.shape[:-1] + x.shape[k:]
        expect(y.dtype == x.dtype and y.shape == (want or (1,)), node, f"output {list(y.shape)} is not {list(want)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, idx, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        k = idx.shape[-1]
        return lower_gather_rows(node.name, x, idx, y, 1, x.shape[:k], y.size // max(idx.size // k, 1))
