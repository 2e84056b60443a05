"""Empirical bias correction: remove the mean error an approximation adds to each channel of each layer.

The approximation is int8 quantization (`graph` int8) or pruning (`graph` float, weights zeroed).
Layer by layer in graph order, over sample inputs: the approximate layer's pre-activation output (on
its own input; int8 values dequantized, the product in float) is compared with the reference layer's
pre-activation output on the reference input; the per-output-channel mean of the difference is
subtracted from the bias (int32 for int8 graphs). Each layer sees the activations of the layers
already corrected, so errors do not pile up along the network.
"""

from __future__ import annotations

import copy

import numpy as np
from tqdm import tqdm

from tinyc.ir import Graph, Node, Tensor
from tinyc.lower import Plan, lower
from tinyc.ops import KERNELS, REGISTRY
from tinyc.quant.observe import batches
from tinyc.quant.scheme import WEIGHT_AXIS, bias_quant, dequantize_values, quantize_values, round_half_away


def correct_bias(reference: Graph, graph: Graph, samples: np.ndarray, batch: int = 64,
                 only: set[str] | None = None, keep_zero_channels: bool = False) -> Graph:
    """A copy of `graph` (int8, or float) with each conv / depthwise / fully-connected bias (or those of
    the nodes named in `only`) corrected towards the float `reference` of the same structure.
    With keep_zero_channels, output channels whose weights and bias are all zero (pruned channels, to be
    removed by tinyc.prune.remove_channels) keep their zero bias; the next layers' biases absorb them."""
    g = copy.deepcopy(graph)
    int8 = g.tensor(g.inputs[0]).dtype == "int8"
    layers = [i for i, node in enumerate(g.nodes)
              if node.op in WEIGHT_AXIS and (only is None or node.name in only)]
    ref_plan = lower(reference)
    for i in tqdm(layers, desc="bias correction", unit="layer", disable=None, leave=False):
        node = g.nodes[i]
        diff_sum, count = None, 0
        plan = lower(g)  # with the biases corrected so far
        layer = _dequantized_layer(g, node) if int8 else g
        for x in batches(samples, batch):
            x_ref = _run_until(ref_plan, x, i)[node.inputs[0]]
            x_own = _run_until(plan, quantize_values(x, g.tensor(g.inputs[0]).quant) if int8 else x, i)
            x_own = x_own[node.inputs[0]]
            if int8:
                x_own = dequantize_values(x_own, g.tensor(node.inputs[0]).quant)
            pre_ref = _pre_activation(reference, reference.nodes[i], x_ref)
            d = (_pre_activation(layer, node, x_own) - pre_ref).reshape(-1, pre_ref.shape[-1])
            diff_sum = d.sum(axis=0) if diff_sum is None else diff_sum + d.sum(axis=0)
            count += d.shape[0]
        error = diff_sum / count
        if keep_zero_channels:
            error = np.where(_zero_channels(g, node), 0.0, error)
        _subtract_from_bias(g, node, error)
    g.verify()
    return g


def _zero_channels(g: Graph, node: Node) -> np.ndarray:
    w = g.tensor(node.inputs[1]).data
    axis = WEIGHT_AXIS[node.op]
    dead = ~np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1).any(axis=1)
    if len(node.inputs) > 2 and node.inputs[2]:
        dead &= g.tensor(node.inputs[2]).data.reshape(-1) == 0
    return dead


def _run_until(plan: Plan, x: np.ndarray, last: int) -> dict[str, np.ndarray]:
    """Activations of the plan's steps 0..last-1 on a batch (the inputs of step `last`)."""
    values = {plan.graph.inputs[0]: x}
    for step in plan.steps[:last]:
        outs = KERNELS[step.kernel](step, [values[n] for n in step.inputs])
        values.update(zip(step.outputs, outs, strict=True))
    return values


def _pre_activation(graph: Graph, node: Node, x: np.ndarray) -> np.ndarray:
    """The layer's float output before its fused activation, by its float reference kernel."""
    linear = Node(node.op, node.name, node.inputs, node.outputs, {**node.attrs, "activation": "none"})
    step = REGISTRY[node.op].lower(linear, graph)
    return KERNELS[step.kernel](step, [x.astype(np.float32)])[0].astype(np.float64)


def _dequantized_layer(q: Graph, node: Node) -> Graph:
    """A float graph holding just this layer with its int8 weights and bias dequantized."""
    g = Graph(f"{node.name}-dequantized")
    x, y = q.tensor(node.inputs[0]), q.tensor(node.outputs[0])
    g.add_tensor(Tensor(x.name, x.shape, "float32"))
    g.add_tensor(Tensor(y.name, y.shape, "float32"))
    for name in node.inputs[1:]:
        if name:
            t = q.tensor(name)
            g.add_tensor(Tensor(name, t.shape, "float32", None, dequantize_values(t.data, t.quant)))
    return g


def _subtract_from_bias(g: Graph, node: Node, error: np.ndarray) -> None:
    int8 = g.tensor(node.inputs[0]).dtype == "int8"
    if len(node.inputs) < 3 or not node.inputs[2]:
        name = g.unique_name(f"{node.name}/bias")
        if int8:
            b_quant = bias_quant(g.tensor(node.inputs[0]).quant.s, g.tensor(node.inputs[1]).quant)
            g.add_tensor(Tensor(name, (error.size,), "int32", b_quant, np.zeros(error.size, np.int32)))
        else:
            g.add_tensor(Tensor(name, (error.size,), "float32", None, np.zeros(error.size, np.float32)))
        node.inputs = node.inputs[:2] + [name]
    b = g.tensor(node.inputs[2])
    if not int8:
        g.tensors[b.name] = Tensor(b.name, b.shape, b.dtype, b.quant, (b.data - error).astype(np.float32))
        return
    scale = np.broadcast_to(b.quant.scale.astype(np.float64), error.shape)
    corrected = b.data.astype(np.int64) - round_half_away(error / scale).astype(np.int64)
    g.tensors[b.name] = Tensor(b.name, b.shape, "int32", b.quant,
                               np.clip(corrected, -(2**31), 2**31 - 1).astype(np.int32))
