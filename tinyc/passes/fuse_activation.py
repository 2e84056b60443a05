"""A relu / relu6 / relu_n1_to_1 node becomes the fused activation of its producer.

The producer must be the relu's only source, have no activation yet, and its output no other
reader. Float graphs only: in an int8 graph the separate relu requantizes, so fusing it would
change the bytes.
"""

from __future__ import annotations

from tinyc.ir import Graph
from tinyc.passes._util import is_float, producer, sole_consumer

FUSABLE = ("conv2d", "depthwise_conv2d", "fully_connected", "add", "max_pool2d", "avg_pool2d", "batch_norm")


def fuse_activations(graph: Graph) -> int:
    changes = 0
    for relu in list(graph.nodes):
        if relu.op != "relu":
            continue
        p = producer(graph, relu.inputs[0])
        if (p is None or p.op not in FUSABLE or p.attrs.get("activation", "none") != "none"
                or sole_consumer(graph, relu.inputs[0]) is not relu
                or not is_float(graph, relu.inputs[0], relu.outputs[0])):
            continue
        p.outputs[0] = relu.outputs[0]
        p.attrs["activation"] = relu.attrs.get("activation", "relu")
        graph.nodes.remove(relu)
        changes += 1
    return changes
