"""Graph -> Plan: ask each node's op for its kernel and precomputed parameters."""

from __future__ import annotations

from tinyc.ir import Graph
from tinyc.lower.plan import Buffer, Plan, Step


def lower(graph: Graph) -> Plan:
    from tinyc.ops import REGISTRY  # the op modules import Step from this package

    graph.verify()
    return Plan(graph, [REGISTRY[node.op].lower(node, graph) for node in graph.nodes])


__all__ = ["Buffer", "Plan", "Step", "lower"]
