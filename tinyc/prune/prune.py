"""Magnitude pruning of the weights of conv, depthwise and fully-connected layers (float or int8 graphs).

Weights are zeroed in place of being removed, so the graph keeps its shapes and runs everywhere it ran;
a zeroed output channel also gets a zero bias, so the channel's output is exactly the activation of 0.
Magnitudes are those of the real weights (int8 weights times their per-channel scale).

The "channel" method prunes the output channels of the layers whose channels can be removed
(tinyc.prune.structured: a conv2d / fully_connected read only by conv2d / fully_connected layers,
through activations, pools, flattens and depthwise convolutions, whose channels are zeroed with them);
`remove_channels` then takes them out of the graph. The other layers (e.g. the classifier) are kept.
Unstructured and N:M zeros stay in place; the int8 lowering stores such weights in a compact encoding
(tinyc.ops.sparse_weights) whose kernels skip them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from tinyc.errors import InputError
from tinyc.ir import Graph, Node, Tensor
from tinyc.prune import masks

METHODS = ("unstructured", "channel", "n:m")
OUT_AXIS = {"conv2d": 0, "depthwise_conv2d": 3, "fully_connected": 0}


@dataclass
class LayerSparsity:
    node: str
    op: str
    params: int  # weights
    zeros: int  # weights equal to zero
    macs: int  # multiply-accumulates of the layer
    channels: int  # output channels
    zero_channels: int  # output channels whose weights are all zero

    @property
    def sparsity(self) -> float:
        return self.zeros / self.params if self.params else 0.0


def prunable(graph: Graph) -> list[Node]:
    return [n for n in graph.nodes if n.op in OUT_AXIS and graph.tensor(n.inputs[1]).is_const]


def rows(w: np.ndarray, op: str) -> np.ndarray:
    """The weights as (output channel, reduction) in memory order of the reduction."""
    axis = OUT_AXIS[op]
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def unrows(r: np.ndarray, shape: tuple[int, ...], op: str) -> np.ndarray:
    axis = OUT_AXIS[op]
    moved = (shape[axis],) + tuple(d for i, d in enumerate(shape) if i != axis)
    return np.moveaxis(r.reshape(moved), 0, axis)


def magnitudes(t: Tensor, op: str) -> np.ndarray:
    r = np.abs(rows(t.data, op).astype(np.float64))
    if t.quant is not None:
        scale = t.quant.scale.astype(np.float64)
        r = r * (scale[:, None] if t.quant.per_channel else scale[0])
    return r


def layer_mask(t: Tensor, op: str, method: str, sparsity: float, n_m: tuple[int, int] = (2, 4)) -> np.ndarray:
    mag = magnitudes(t, op)
    if method == "unstructured":
        return masks.unstructured(mag, sparsity)
    if method == "channel":
        return masks.channels(mag, sparsity)
    if method == "n:m":
        return masks.n_of_m(mag, *n_m)
    raise InputError(f"unknown pruning method '{method}' (expected {', '.join(METHODS)})")


def prune(graph: Graph, sparsity: float | dict[str, float], method: str = "unstructured",
          n_m: tuple[int, int] = (2, 4)) -> Graph:
    """A copy of `graph` with the smallest weights of each prunable layer zeroed. `sparsity` is one
    fraction for every layer or a fraction per node name (layers not named are left alone); the n:m
    method ignores it (its sparsity is 1 - n/m)."""
    from tinyc.prune.structured import channel_groups

    g = copy.deepcopy(graph)
    groups = {grp.source.name: grp for grp in channel_groups(g)} if method == "channel" else {}
    for node in prunable(g):
        s = sparsity.get(node.name, 0.0) if isinstance(sparsity, dict) else sparsity
        if not 0.0 <= s <= 1.0:
            raise InputError(f"sparsity must be in [0, 1], got {s} for node '{node.name}'")
        if (s == 0.0 and method != "n:m") or (method == "channel" and node.name not in groups):
            continue
        w = g.tensor(node.inputs[1])
        keep = layer_mask(w, node.op, method, s, n_m)
        data = unrows(np.where(keep, rows(w.data, node.op), 0), w.shape, node.op).astype(w.data.dtype)
        g.tensors[w.name] = Tensor(w.name, w.shape, w.dtype, w.quant, data)
        dead = ~keep.any(axis=1)
        if dead.any() and len(node.inputs) > 2 and node.inputs[2]:
            _zero_bias(g, node.inputs[2], dead)
        if node.name in groups and dead.any():
            for m in groups[node.name].members:  # keep the channel 0 along the group, so it can be removed
                if m.op == "depthwise_conv2d":
                    dw = g.tensor(m.inputs[1])
                    data = np.where(dead.reshape(1, 1, 1, -1), 0, dw.data).astype(dw.data.dtype)
                    g.tensors[dw.name] = Tensor(dw.name, dw.shape, dw.dtype, dw.quant, data)
                    if len(m.inputs) > 2 and m.inputs[2]:
                        _zero_bias(g, m.inputs[2], dead)
                elif m.op == "batch_norm":
                    _zero_bias(g, m.inputs[2], dead)
    g.verify()
    return g


def _zero_bias(g: Graph, name: str, dead: np.ndarray) -> None:
    b = g.tensor(name)
    data = np.where(dead.reshape(b.shape), 0, b.data).astype(b.data.dtype)
    g.tensors[b.name] = Tensor(b.name, b.shape, b.dtype, b.quant, data)


def sparsity_report(graph: Graph) -> list[LayerSparsity]:
    from tinyc.ops import REGISTRY

    out = []
    for node in prunable(graph):
        r = rows(graph.tensor(node.inputs[1]).data, node.op)
        out.append(LayerSparsity(node.name, node.op, r.size, int(np.count_nonzero(r == 0)),
                                 REGISTRY[node.op].macs(node, graph), r.shape[0],
                                 int(np.count_nonzero(~r.any(axis=1)))))
    return out
