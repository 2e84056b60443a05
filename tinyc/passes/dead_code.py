"""Remove nodes whose outputs nobody reads, then tensors nobody references. A node without outputs
(ASSIGN_VARIABLE) acts on persistent state and stays."""

from __future__ import annotations

from tinyc.ir import Graph


def remove_dead_code(graph: Graph) -> int:
    removed = 0
    while True:
        read = set(graph.outputs) | {i for n in graph.nodes for i in n.inputs}
        dead = [n for n in graph.nodes if n.outputs and not any(o in read for o in n.outputs)]
        if not dead:
            break
        for n in dead:
            graph.nodes.remove(n)
        removed += len(dead)
    before = len(graph.tensors)
    graph.prune_unused_tensors()
    return removed + (before > len(graph.tensors))
