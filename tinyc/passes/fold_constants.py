"""Constant folding: a node whose inputs are all constants (or whose value depends on static shapes only, such
as SHAPE) is run once by its own reference kernel at compile time and its outputs become constants.

Exact by construction (the kernel is the one the runtime would run), so it applies to every dtype. Nodes
writing a graph output stay: the C API fills the caller's buffer.
"""

from __future__ import annotations

import numpy as np

from tinyc.errors import GraphError
from tinyc.ir import Graph


def fold_constants(graph: Graph) -> int:
    from tinyc.ops import KERNELS, REGISTRY

    folded = 0
    for node in list(graph.nodes):
        op = REGISTRY.get(node.op)
        if op is None or not node.outputs or any(o in graph.outputs for o in node.outputs):  # no outputs: state
            continue
        ins = [graph.tensor(n) for n in node.inputs if n]
        constant = hasattr(op, "value")  # SHAPE, FILL, ZEROS_LIKE: known from shapes and constants
        if not (constant or (ins and all(t.is_const for t in ins))):
            continue
        try:
            op.verify_arity(node)
            op.check(node, graph)
            step = None if constant else op.lower(node, graph)
        except GraphError:
            continue  # left for the verifier to report
        if step is None:
            values = [np.asarray(op.value(node, graph), graph.tensor(node.outputs[0]).np_dtype)[np.newaxis]]
        elif step.alias:
            values = [graph.tensor(step.inputs[0]).data[np.newaxis]]
        else:
            values = KERNELS[step.kernel](step, [graph.tensor(n).data[np.newaxis] for n in step.inputs])
        outs = [graph.tensor(n) for n in node.outputs]
        if any(v.dtype != t.np_dtype or v[0].size != t.size for v, t in zip(values, outs, strict=True)):
            continue
        for v, t in zip(values, outs, strict=True):
            t.data = np.ascontiguousarray(v[0]).reshape(t.shape)
        graph.nodes.remove(node)
        folded += 1
    return folded
