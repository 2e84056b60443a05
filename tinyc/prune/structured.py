"""Structured pruning that saves flash: whole output channels removed from the graph, not just zeroed.

A channel group starts at a conv2d or fully_connected node (the source) and follows its output through
ops that keep channels apart (relu, max / average pooling, depthwise convolution with multiplier 1,
batch_norm) and reshapes, to the layers that read it (the sinks): conv2d (input channels) and
fully_connected (columns; after a flatten of NHWC values, column j reads channel j % C). A group whose
output reaches anything else (a graph output, add, softmax, transpose, ...) cannot lose channels.

Channel c of a group is removable when the source gives exactly 0 there (its weights and bias are 0,
so any fused activation of it is 0 too) and every member keeps it 0 (a depthwise convolution's bias and
a batch norm's offset are 0 for c). Then every sink's products with channel c are 0, padding included
(an int8 pad is the zero point, which is 0), so removing c from the source, the members and the sinks
changes no output, in float and in int8 graphs alike. `tinyc.prune.prune(graph, s, "channel")` zeroes
channels this way; `remove_channels` then removes them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from tinyc.ir import Graph, Node, Quant, Tensor

SOURCES = ("conv2d", "fully_connected")
CHANNELWISE = ("relu", "max_pool2d", "avg_pool2d")


@dataclass
class ChannelGroup:
    source: Node
    channels: int
    members: list[Node] = field(default_factory=list)  # relu / pools / depthwise / batch_norm, in order
    reshapes: list[Node] = field(default_factory=list)  # flattening towards fully-connected sinks
    sinks: list[Node] = field(default_factory=list)  # conv2d / fully_connected reading the channels
    tensors: list[str] = field(default_factory=list)  # activations whose last axis is the channels
    flat: list[str] = field(default_factory=list)  # reshaped activations (channels fastest)


def _const(graph: Graph, node: Node, i: int) -> Tensor | None:
    if len(node.inputs) > i and node.inputs[i]:
        t = graph.tensor(node.inputs[i])
        return t if t.is_const else None
    return None


def channel_group(graph: Graph, source: Node) -> ChannelGroup | None:
    """The group of `source`, or None when its channels cannot be removed."""
    w = _const(graph, source, 1)
    if source.op not in SOURCES or w is None:
        return None
    out = graph.tensor(source.outputs[0])
    c = w.shape[0]
    if out.shape[-1] != c:
        return None
    group = ChannelGroup(source, c)
    consumers = graph.consumers()
    todo: list[tuple[str, bool]] = [(source.outputs[0], False)]  # (tensor, flattened)
    while todo:
        name, flat = todo.pop()
        if name in graph.outputs or name in graph.inputs:
            return None
        (group.flat if flat else group.tensors).append(name)
        users = consumers.get(name, [])
        if not users:
            return None
        for n in users:
            if n.inputs[0] != name or n.inputs.count(name) != 1:
                return None  # read as a weight, a second operand, or twice
            if n.op == "fully_connected" and _const(graph, n, 1) is not None:
                depth = graph.tensor(n.inputs[1]).shape[1]
                if depth % c or graph.tensor(name).shape[-1] % c:
                    return None
                group.sinks.append(n)
            elif flat and n.op == "reshape":
                if graph.tensor(n.outputs[0]).shape[-1] % c:
                    return None
                group.reshapes.append(n)
                todo.append((n.outputs[0], True))
            elif flat:
                return None
            elif n.op == "conv2d" and _const(graph, n, 1) is not None:
                group.sinks.append(n)
            elif n.op == "reshape":
                if graph.tensor(n.outputs[0]).shape[-1] % c:
                    return None
                group.reshapes.append(n)
                todo.append((n.outputs[0], True))
            elif (n.op in CHANNELWISE or n.op == "batch_norm"
                  or (n.op == "depthwise_conv2d" and int(n.attrs.get("depth_multiplier", 1)) == 1
                      and _const(graph, n, 1) is not None)):
                if graph.tensor(n.outputs[0]).shape[-1] != c:
                    return None
                group.members.append(n)
                todo.append((n.outputs[0], False))
            else:
                return None
    return group if group.sinks else None


def channel_groups(graph: Graph) -> list[ChannelGroup]:
    """Every group of the graph whose channels can be removed, in node order."""
    return [g for g in (channel_group(graph, n) for n in graph.nodes if n.op in SOURCES) if g is not None]


def _rows(graph: Graph, node: Node) -> np.ndarray:
    """Weights as (output channel, reduction); the channel axis is 0 (conv / fc) or 3 (depthwise)."""
    w = graph.tensor(node.inputs[1]).data
    axis = 3 if node.op == "depthwise_conv2d" else 0
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def zero_channels(graph: Graph, group: ChannelGroup) -> np.ndarray:
    """The channels of the group that are exactly 0 all along (removable)."""
    dead = ~_rows(graph, group.source).any(axis=1)
    b = _const(graph, group.source, 2)
    if b is not None:
        dead &= b.data == 0
    for m in group.members:
        if m.op == "depthwise_conv2d":
            b = _const(graph, m, 2)
            if b is not None:
                dead &= b.data.reshape(-1) == 0
        elif m.op == "batch_norm":
            dead &= graph.tensor(m.inputs[2]).data.reshape(-1) == 0
    return dead


def remove_channels(graph: Graph) -> Graph:
    """A copy of `graph` without the channels that are exactly 0 along a whole group (see the module
    docstring): the same outputs from fewer weights, MACs and activation bytes."""
    g = copy.deepcopy(graph)
    changed = True
    while changed:  # removing one group's channels may not create new removable ones, but groups may chain
        changed = False
        for group in channel_groups(g):
            dead = zero_channels(g, group)
            if dead.all():
                dead[0] = False  # keep one channel: a layer needs an output
            if dead.any():
                _remove(g, group, ~dead)
                changed = True
    g.prune_unused_tensors()
    g.verify()
    return g


def _replace_const(g: Graph, node: Node, index: int, data: np.ndarray, quant: Quant | None) -> None:
    old = g.tensor(node.inputs[index])
    name = g.unique_name(f"{old.name}_pruned")
    g.add_tensor(Tensor(name, data.shape, old.dtype, quant, data))
    node.inputs[index] = name


def _slice_quant(q: Quant | None, keep: np.ndarray) -> Quant | None:
    if q is None or not q.per_channel:
        return q
    return Quant(q.scale[keep], q.zero_point[keep], q.axis)


def _slice_output_channels(g: Graph, node: Node, keep: np.ndarray, axis: int) -> None:
    w = g.tensor(node.inputs[1])
    _replace_const(g, node, 1, np.compress(keep, w.data, axis=axis), _slice_quant(w.quant, keep))
    b = _const(g, node, 2)
    if b is not None:
        _replace_const(g, node, 2, b.data.reshape(-1)[keep], _slice_quant(b.quant, keep))


def _resize(g: Graph, name: str, shape: tuple[int, ...]) -> None:
    t = g.tensor(name)
    g.tensors[name] = Tensor(name, shape, t.dtype, t.quant)


def _remove(g: Graph, group: ChannelGroup, keep: np.ndarray) -> None:
    c, kept = group.channels, int(keep.sum())
    _slice_output_channels(g, group.source, keep, 0)
    for m in group.members:
        if m.op == "depthwise_conv2d":
            _slice_output_channels(g, m, keep, 3)
        elif m.op == "batch_norm":
            for i in (1, 2):
                t = g.tensor(m.inputs[i])
                _replace_const(g, m, i, t.data.reshape(-1)[keep], t.quant)
    for name in group.tensors:
        _resize(g, name, g.tensor(name).shape[:-1] + (kept,))
    for name in group.flat:
        shape = g.tensor(name).shape
        _resize(g, name, shape[:-1] + (shape[-1] // c * kept,))
    for sink in group.sinks:
        w = g.tensor(sink.inputs[1])
        if sink.op == "conv2d":
            _replace_const(g, sink, 1, np.compress(keep, w.data, axis=3), w.quant)
        else:
            cols = np.resize(keep, w.shape[1])  # column j reads channel j % c
            _replace_const(g, sink, 1, np.compress(cols, w.data, axis=1), w.quant)
