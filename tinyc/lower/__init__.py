"""Graph -> Plan: ask each node's op for its kernel and precomputed parameters."""

from __future__ import annotations

from tinyc.errors import GraphError, shown
from tinyc.ir import Graph
from tinyc.lower.plan import Buffer, Plan, Step


def lower(graph: Graph) -> Plan:
    from tinyc.ops import REGISTRY  # the op modules import Step from this package

    graph.verify()
    plan = Plan(graph, [REGISTRY[node.op].lower(node, graph) for node in graph.nodes])
    check_steps(plan)
    return plan


def check_steps(plan: Plan) -> None:
    """The runtime's contract: a step reads only graph inputs and earlier steps' outputs (constants are the
    step's own), and no two steps write one tensor."""
    available = set(plan.graph.inputs)
    for step in plan.steps:
        for name in step.inputs:
            if name not in available:
                raise GraphError(f"node '{shown(step.node)}' takes '{shown(name)}' as a computed input, but it is a "
                                 "constant or not yet computed")
        if available & set(step.outputs):
            raise GraphError(f"node '{shown(step.node)}' writes a tensor computed before")
        available.update(step.outputs)


__all__ = ["Buffer", "Plan", "Step", "check_steps", "lower"]
