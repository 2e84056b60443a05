"""Hybrid graphs (float activations, int8 weights) -> plain float graphs, for the quantizer.

A dynamic-range quantized .tflite ("hybrid") keeps int8 weights next to float activations; TFLite
then quantizes each input on the fly (tinyc's conv2d_hybrid kernel does the same, so such a graph
matches TFLite). Before calibrating and quantizing a graph statically, its weights should be the
real numbers they stand for: w = scale * (q - zero_point). Not a default pass: it changes the
numbers the graph computes (to those of the float model the weights were quantized from).
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph
from tinyc.passes._util import add_const

WEIGHTED = ("conv2d", "depthwise_conv2d", "fully_connected")


def dequantize_weights(graph: Graph) -> int:
    changes = 0
    for node in graph.nodes:
        if node.op not in WEIGHTED or graph.tensor(node.inputs[0]).dtype != "float32":
            continue
        w = graph.tensor(node.inputs[1])
        if w.dtype == "float32" or w.quant is None or not w.is_const:
            continue
        shape = [1] * len(w.shape)
        if w.quant.per_channel:
            shape[w.quant.axis] = -1
        scale = w.quant.scale.astype(np.float64).reshape(shape)
        zero = w.quant.zero_point.astype(np.float64).reshape(shape)
        node.inputs[1] = add_const(graph, f"{w.name}_float", ((w.data - zero) * scale).astype(np.float32))
        changes += 1
    if changes:
        graph.prune_unused_tensors()
    return changes
