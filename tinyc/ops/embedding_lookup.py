"""EMBEDDING_LOOKUP: rows of a table (usually constant) picked by int32 ids, through the run-time gather kernel
(tinyc/ops/_indexed.py). TFLM's hybrid form, an int8 table into a float32 output, dequantizes each picked row with
the table's one scale (TFLM requires zero point 0 and reads a single scale, so a per-row table is refused)."""

from __future__ import annotations

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import quant
from tinyc.ops._indexed import KERNELS, dtypes_for, lower_gather_rows


@register
class EmbeddingLookup(OpDef):
    name = "embedding_lookup"
    tflite = ("EMBEDDING_LOOKUP",)
    arity = (2, 2)
    kernels = KERNELS
    dtypes = dtypes_for(("float32", "int8"), ("int32",)) | {("int8", "float32")}

    def check(self, node: Node, graph: Graph) -> None:
        ids, table, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        expect(ids.dtype == "int32" and len(ids.shape) == 1, node, "ids must be a 1-D int32 tensor")
        expect(len(table.shape) >= 2, node, f"the table {list(table.shape)} needs at least 2 dimensions (TFLM)")
        want = ids.shape + table.shape[1:]
        hybrid = table.dtype == "int8" and y.dtype == "float32"
        expect((y.dtype == table.dtype or hybrid) and y.shape == want, node,
               f"output {y.dtype}{list(y.shape)} is not {table.dtype}{list(want)}")
        if hybrid:
            q = quant(graph, table.name, node)
            expect(q.scale.size == 1, node, "a hybrid table must have one scale (TFLM reads only the first of "
                                            f"its {q.scale.size})")
            expect(q.zp == 0, node, f"a hybrid table needs zero point 0 (TFLM), not {q.zp}")

    def lower(self, node: Node, graph: Graph) -> Step:
        ids, table, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        scale = quant(graph, table.name, node).s if table.dtype == "int8" and y.dtype == "float32" else None
        return lower_gather_rows(node.name, table, ids, y, 1, table.shape[:1], table.size // table.shape[0],
                                 scale=scale)
