"""EMBEDDING_LOOKUP: rows of a table (usually constant) picked by int32 ids, through the run-time gather kernel
(tinyc/ops/_indexed.py). TFLM's hybrid form (int8 table, float output) is not supported."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._indexed import KERNELS, dtypes_for, lower_gather_rows


@register
class EmbeddingLookup(OpDef):
    name = "embedding_lookup"
    arity = (2, 2)
    kernels = KERNELS
    dtypes = dtypes_for(("float32", "int8"), ("int32",))

    def check(self, node: Node, graph: Graph) -> None:
        ids, table, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        expect(ids.dtype == "int32" and len(ids.shape) == 1, node, "ids must be a 1-D int32 tensor")
        want = ids.shape + table.shape[1:]
        expect(y.dtype == table.dtype and y.shape == want, node, f"output {list(y.shape)} is not {list(want)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        ids, table, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        return lower_gather_rows(node.name, table, ids, y, 1, table.shape[:1], table.size // table.shape[0])
