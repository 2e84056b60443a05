"""Graph -> Plan: ask each node's op for its kernel and precomputed parameters."""

from __future__ import annotations

from tinyc.ir import Graph
from tinyc.lower.plan import Plan, Step
from tinyc.ops import REGISTRY


def lower(graph: Graph) -> Plan:
    graph.verify()
    return Plan(graph, [REGISTRY[node.op].lower(node, graph) for node in graph.nodes])


__all__ = ["Plan", "Step", "lower"]
