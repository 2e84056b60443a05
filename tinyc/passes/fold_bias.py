"""An add of a per-channel constant after a conv2d / depthwise_conv2d / fully_connected becomes its bias.

ONNX exports write the bias as a separate Add (e.g. MatMul + Add, or CNTK's Conv + Add). Float only.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph
from tinyc.passes._util import add_const, is_float, producer, sole_consumer

WITH_BIAS = ("conv2d", "depthwise_conv2d", "fully_connected")


def fold_bias(graph: Graph) -> int:
    changes = 0
    for add in list(graph.nodes):
        if add.op != "add":
            continue
        a, b, y = (graph.tensor(n) for n in (add.inputs[0], add.inputs[1], add.outputs[0]))
        p = producer(graph, a.name)
        if (not b.is_const or p is None or p.op not in WITH_BIAS or a.shape != y.shape
                or p.attrs.get("activation", "none") != "none" or sole_consumer(graph, a.name) is not add):
            continue
        if not is_float(graph, a.name, b.name, y.name, p.inputs[1]) or not y.shape:
            continue
        n_out = y.shape[-1]
        rows = np.broadcast_to(b.data.astype(np.float32), y.shape).reshape(-1, n_out)
        if not np.all(rows == rows[:1]):
            continue  # not the same value for every position: not a bias
        old = np.zeros(n_out, np.float32)
        if len(p.inputs) > 2 and p.inputs[2]:
            old = graph.tensor(p.inputs[2]).data.astype(np.float32)
        if old.shape != (n_out,):
            continue
        name = add_const(graph, f"{p.name}_bias", old + rows[0])
        if len(p.inputs) > 2:
            p.inputs[2] = name
        else:
            p.inputs.append(name)
        p.outputs[0] = add.outputs[0]
        p.attrs["activation"] = add.attrs.get("activation", "none")
        graph.nodes.remove(add)
        changes += 1
    return changes
