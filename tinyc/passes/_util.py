"""Small graph-surgery helpers shared by the passes."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node, Tensor


def sole_consumer(graph: Graph, tensor: str) -> Node | None:
    """The one node reading `tensor`, if exactly one does and it is not a graph output."""
    if tensor in graph.outputs:
        return None
    users = [n for n in graph.nodes if tensor in n.inputs]
    return users[0] if len(users) == 1 and users[0].inputs.count(tensor) == 1 else None


def producer(graph: Graph, tensor: str) -> Node | None:
    for node in graph.nodes:
        if tensor in node.outputs:
            return node
    return None


def is_float(graph: Graph, *names: str) -> bool:
    """Plain float32 tensors (no quantization): the numerically-changing rewrites apply only to these."""
    return all(graph.tensor(n).dtype == "float32" and graph.tensor(n).quant is None for n in names if n)


def add_const(graph: Graph, base: str, value: np.ndarray, like: Tensor | None = None) -> str:
    """A new constant tensor (never mutate a constant in place: another node may share it)."""
    name = graph.unique_name(base)
    dtype = like.dtype if like is not None else "float32"
    quant = like.quant if like is not None else None
    graph.add_tensor(Tensor(name, value.shape, dtype, quant, value))
    return name


def bypass(graph: Graph, node: Node) -> bool:
    """Remove a node whose output equals its input 0 (same values, same shape); False if it must stay."""
    src, dst = node.inputs[0], node.outputs[0]
    if graph.tensor(src).shape != graph.tensor(dst).shape:
        return False
    if dst in graph.outputs:
        # the producer of src writes the output directly, under the output's name
        if src in graph.inputs or src in graph.outputs or graph.tensor(src).is_const:
            return False
        graph.nodes.remove(node)
        for n in graph.nodes:
            n.inputs = [dst if i == src else i for i in n.inputs]
            n.outputs = [dst if o == src else o for o in n.outputs]
        del graph.tensors[src]
        return True
    graph.nodes.remove(node)
    for n in graph.nodes:
        n.inputs = [src if i == dst else i for i in n.inputs]
    del graph.tensors[dst]
    return True
