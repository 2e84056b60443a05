"""Transposes and reshapes that move nothing.

- a transpose by the identity permutation is removed;
- a transpose that only moves axes of size 1 (NCHW <-> NHWC with C == 1, or H == W == 1) keeps
  the bytes in order, so it becomes a reshape (free: the runtime and the C alias its buffer);
- a transpose of a transpose reads the first one's input with the composed permutation;
- a reshape of a reshape reads the first one's input; a reshape to the same shape is removed.

Exact for every dtype, so it runs on float and int8 graphs alike.
"""

from __future__ import annotations

from tinyc.ir import Graph
from tinyc.passes._util import bypass, producer


def simplify_layout(graph: Graph) -> int:
    changes = 0
    for node in list(graph.nodes):
        if node not in graph.nodes:
            continue
        if node.op == "transpose":
            perm = tuple(node.attrs["perm"])
            src = producer(graph, node.inputs[0])
            if src is not None and src.op == "transpose":
                first = tuple(src.attrs["perm"])
                node.inputs[0] = src.inputs[0]
                node.attrs["perm"] = perm = tuple(first[p] for p in perm)
                changes += 1
            if perm == tuple(range(len(perm))):
                changes += bypass(graph, node)
                continue
            shape = graph.tensor(node.inputs[0]).shape
            moved = [p for p in perm if shape[p] != 1]
            if moved == sorted(moved):
                node.op, node.attrs = "reshape", {}
                changes += 1
        if node.op == "reshape":
            src = producer(graph, node.inputs[0])
            if src is not None and src.op == "reshape":
                node.inputs[0] = src.inputs[0]
                changes += 1
            if graph.tensor(node.inputs[0]).shape == graph.tensor(node.outputs[0]).shape:
                changes += bypass(graph, node)
    return changes
