"""Float graph + calibrated ranges -> int8 graph (weights, biases and activation parameters)."""

from __future__ import annotations

import copy

import numpy as np

from tinyc.errors import InputError, TinycError
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.passes.dequantize_weights import dequantize_weights
from tinyc.quant.scheme import (
    FIXED_OUTPUT,
    PASS_THROUGH,
    WEIGHT_AXIS,
    activation_quant,
    bias_quant,
    dequantize_values,
    inherits_quant,
    quantize_bias,
    quantize_values,
    quantize_weights,
)

QUANTIZABLE = PASS_THROUGH | set(FIXED_OUTPUT) | set(WEIGHT_AXIS) | {"add", "relu"}


def check_float(graph: Graph) -> None:
    """Quantization takes a float32 graph of ops it knows; anything else is a one-line error."""
    for name in graph.inputs + graph.outputs:
        t = graph.tensor(name)
        if t.dtype != "float32":
            raise InputError(f"model '{graph.name}' is not a float model: tensor '{name}' is {t.dtype} "
                             "(quantize takes float32 models)")
    for node in graph.nodes:
        if node.op not in QUANTIZABLE:
            raise TinycError(f"node '{node.name}': op {node.op} cannot be quantized to int8 by tinyc")


def as_float(graph: Graph) -> Graph:
    """A copy whose weights are all float: a hybrid graph's int8 weights become the reals they stand for."""
    g = copy.deepcopy(graph)
    dequantize_weights(g)
    g.verify()
    return g


def quantize(graph: Graph, ranges: dict[str, tuple[float, float]], per_channel_fc: bool = False) -> Graph:
    """A new int8 graph computing what `graph` computes, on the calibrated activation ranges."""
    check_float(graph)
    q = as_float(graph)
    quants: dict[str, Quant] = {name: activation_quant(*_range(ranges, name)) for name in q.inputs}
    for node in q.nodes:
        out = node.outputs[0]
        if inherits_quant(node):
            quants[out] = quants[node.inputs[0]]
        elif node.op in FIXED_OUTPUT:
            quants[out] = FIXED_OUTPUT[node.op]
        else:
            quants[out] = activation_quant(*_range(ranges, out))
        if node.op in WEIGHT_AXIS:
            axis = None if node.op == "fully_connected" and not per_channel_fc else WEIGHT_AXIS[node.op]
            _quantize_weights_and_bias(q, node, quants[node.inputs[0]], axis)
        elif node.op == "add" and q.tensor(node.inputs[1]).is_const:
            b = q.tensor(node.inputs[1])
            bq = activation_quant(float(b.data.min()), float(b.data.max()))
            q.tensors[b.name] = Tensor(b.name, b.shape, "int8", bq, quantize_values(b.data, bq))
    for name, quant in quants.items():
        t = q.tensor(name)
        q.tensors[name] = Tensor(name, t.shape, "int8", quant)
    q.verify()
    return q


def _range(ranges: dict[str, tuple[float, float]], name: str) -> tuple[float, float]:
    if name not in ranges:
        raise TinycError(f"no calibrated range for tensor '{name}'")
    return ranges[name]


def _quantize_weights_and_bias(q: Graph, node: Node, input_quant: Quant, axis: int | None) -> None:
    w = q.tensor(node.inputs[1])
    wq, w_quant = quantize_weights(w.data, axis)
    q.tensors[w.name] = Tensor(w.name, w.shape, "int8", w_quant, wq)
    if len(node.inputs) > 2 and node.inputs[2]:
        b = q.tensor(node.inputs[2])
        b_quant = bias_quant(input_quant.s, w_quant)
        q.tensors[b.name] = Tensor(b.name, b.shape, "int32", b_quant, quantize_bias(b.data, b_quant))


def quantize_input(graph: Graph, x: np.ndarray) -> np.ndarray:
    """Float samples -> the int8 input of a quantized graph."""
    return quantize_values(x, graph.tensor(graph.inputs[0]).quant)


def dequantize_output(graph: Graph, y: np.ndarray, index: int = 0) -> np.ndarray:
    """int8 outputs of a quantized graph -> float64 in the real domain."""
    return dequantize_values(y, graph.tensor(graph.outputs[index]).quant)
