"""A transpose feeding (through reshapes) a fully-connected layer becomes a permutation of the weights.

ONNX flattens NCHW activations, so the frontend transposes NHWC back to NCHW before a Flatten; the
fully-connected layer that follows can read the NHWC bytes directly if its weight columns are
permuted the same way. Exact (columns are only reordered), so it also applies to int8 graphs.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph
from tinyc.passes._util import add_const, producer, sole_consumer


def fold_transpose_into_fc(graph: Graph) -> int:
    changes = 0
    for fc in list(graph.nodes):
        if fc.op != "fully_connected":
            continue
        w = graph.tensor(fc.inputs[1])
        if not w.is_const or graph.tensor(fc.inputs[0]).size != w.shape[1]:
            continue  # several rows: a permutation of the whole input is not one of the columns
        # walk back through single-consumer reshapes to a transpose
        reader, tensor = fc, fc.inputs[0]
        node = producer(graph, tensor)
        while node is not None and node.op == "reshape" and sole_consumer(graph, tensor) is reader:
            reader, tensor = node, node.inputs[0]
            node = producer(graph, tensor)
        if node is None or node.op != "transpose" or sole_consumer(graph, tensor) is not reader:
            continue
        src = node.inputs[0]
        shape = graph.tensor(src).shape
        order = np.arange(graph.tensor(src).size).reshape(shape).transpose(node.attrs["perm"]).reshape(-1)
        permuted = np.empty_like(w.data)
        permuted[:, order] = w.data  # column j of the old weights reads x[order[j]]
        fc.inputs[1] = add_const(graph, f"{w.name}_permuted", permuted, like=w)
        reader.inputs[reader.inputs.index(tensor)] = src
        graph.nodes.remove(node)
        changes += 1
    return changes
