"""A batch_norm after a conv2d / depthwise_conv2d / fully_connected is folded into its weights and bias.

w'[c] = w[c] * scale[c], b'[c] = b[c] * scale[c] + offset[c]. Float graphs only.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph
from tinyc.passes._util import add_const, is_float, producer, sole_consumer

CHANNEL_AXIS = {"conv2d": 0, "depthwise_conv2d": 3, "fully_connected": 0}


def fold_batch_norm(graph: Graph) -> int:
    changes = 0
    for bn in list(graph.nodes):
        if bn.op != "batch_norm":
            continue
        p = producer(graph, bn.inputs[0])
        if (p is None or p.op not in CHANNEL_AXIS or p.attrs.get("activation", "none") != "none"
                or sole_consumer(graph, bn.inputs[0]) is not bn):
            continue
        w = graph.tensor(p.inputs[1])
        if not is_float(graph, p.inputs[0], p.inputs[1], bn.outputs[0]) or not w.is_const:
            continue
        axis = CHANNEL_AXIS[p.op]
        n_out = w.shape[axis]
        if graph.tensor(bn.inputs[0]).shape[-1] != n_out:
            continue
        scale = graph.tensor(bn.inputs[1]).data.astype(np.float64)
        offset = graph.tensor(bn.inputs[2]).data.astype(np.float64)
        shape = [1] * len(w.shape)
        shape[axis] = n_out
        weights = (w.data.astype(np.float64) * scale.reshape(shape)).astype(np.float32)
        bias = np.zeros(n_out)
        if len(p.inputs) > 2 and p.inputs[2]:
            bias = graph.tensor(p.inputs[2]).data.astype(np.float64)
        new_bias = (bias * scale + offset).astype(np.float32)
        p.inputs[1] = add_const(graph, f"{w.name}_bn", weights)
        b_name = add_const(graph, f"{p.name}_bias_bn", new_bias)
        if len(p.inputs) > 2:
            p.inputs[2] = b_name
        else:
            p.inputs.append(b_name)
        p.outputs[0] = bn.outputs[0]
        p.attrs["activation"] = bn.attrs.get("activation", "none")
        graph.nodes.remove(bn)
        changes += 1
    return changes
