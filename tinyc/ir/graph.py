"""Nodes and graphs of the IR, the verifier, and the stable JSON dump.

Layout convention: activations are NHWC (TFLite's and CMSIS-NN's layout); dimension 0 of every
activation is the batch and is 1 in the IR. Frontends convert other layouts on entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyc.errors import GraphError
from tinyc.ir.tensor import DTYPES, Tensor


@dataclass
class Node:
    op: str  # a name in tinyc.ops.REGISTRY
    name: str
    inputs: list[str]  # tensor names; "" marks an omitted optional input
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"op": self.op, "name": self.name, "inputs": self.inputs, "outputs": self.outputs,
                "attrs": {k: _jsonable(v) for k, v in sorted(self.attrs.items())}}


@dataclass
class Graph:
    name: str
    tensors: dict[str, Tensor] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    source: str = ""  # the file it came from, for error messages

    def add_tensor(self, tensor: Tensor) -> Tensor:
        if tensor.name in self.tensors:
            raise GraphError(f"duplicate tensor name '{tensor.name}'")
        self.tensors[tensor.name] = tensor
        return tensor

    def tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise GraphError(f"unknown tensor '{name}'") from None

    def producers(self) -> dict[str, Node]:
        return {out: node for node in self.nodes for out in node.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                if name:
                    users.setdefault(name, []).append(node)
        return users

    def unique_name(self, base: str) -> str:
        name, i = base, 1
        while name in self.tensors:
            name, i = f"{base}_{i}", i + 1
        return name

    def prune_unused_tensors(self) -> None:
        used = set(self.inputs) | set(self.outputs)
        for node in self.nodes:
            used.update(n for n in node.inputs + node.outputs if n)
        self.tensors = {k: v for k, v in self.tensors.items() if k in used}

    def verify(self) -> None:
        """Reject an ill-formed graph with a message naming the node and tensor at fault."""
        from tinyc.ops import REGISTRY

        if not self.inputs or not self.outputs:
            raise GraphError(f"graph '{self.name}' has no {'inputs' if not self.inputs else 'outputs'}")
        for name, tensor in self.tensors.items():
            if name != tensor.name:
                raise GraphError(f"tensor registered as '{name}' is named '{tensor.name}'")
            if tensor.dtype not in DTYPES:
                raise GraphError(f"tensor '{name}' has unknown dtype {tensor.dtype}")
            if any(d <= 0 for d in tensor.shape):
                raise GraphError(f"tensor '{name}' has non-positive dimension in shape {list(tensor.shape)}")
            if tensor.quant is not None:
                q = tensor.quant
                if q.scale.shape != q.zero_point.shape:
                    raise GraphError(f"tensor '{name}': {q.scale.size} scales but {q.zero_point.size} zero points")
                if not np.all(np.isfinite(q.scale)) or np.any(q.scale <= 0):
                    raise GraphError(f"tensor '{name}' has a non-positive or non-finite quantization scale")
                if q.axis is not None and not (0 <= q.axis < len(tensor.shape)):
                    raise GraphError(f"tensor '{name}' quantization axis {q.axis} out of range")
                if q.per_channel and q.scale.size != tensor.shape[q.axis]:
                    raise GraphError(f"tensor '{name}' has {q.scale.size} scales for {tensor.shape[q.axis]} channels")
        available = {n for n, t in self.tensors.items() if t.is_const} | set(self.inputs)
        for name in self.inputs:
            if name not in self.tensors:
                raise GraphError(f"graph input '{name}' is not a tensor")
            if self.tensors[name].is_const:
                raise GraphError(f"graph input '{name}' is a constant")
        seen_nodes: set[str] = set()
        for node in self.nodes:
            if node.name in seen_nodes:
                raise GraphError(f"duplicate node name '{node.name}'")
            seen_nodes.add(node.name)
            if node.op not in REGISTRY:
                raise GraphError(f"node '{node.name}' has unknown op '{node.op}'")
            REGISTRY[node.op].verify_arity(node)
            for name in node.inputs:
                if not name:
                    continue
                if name not in self.tensors:
                    raise GraphError(f"node '{node.name}' ({node.op}) reads unknown tensor '{name}'")
                if name not in available:
                    raise GraphError(f"node '{node.name}' ({node.op}) reads '{name}' before it is produced "
                                     "(graph not in topological order or cyclic)")
            for name in node.outputs:
                if name not in self.tensors:
                    raise GraphError(f"node '{node.name}' ({node.op}) writes unknown tensor '{name}'")
                if name in available:
                    raise GraphError(f"tensor '{name}' is written twice (second time by node '{node.name}')")
                available.add(name)
            REGISTRY[node.op].check_dtypes(node, self)
            REGISTRY[node.op].check(node, self)
        for name in self.outputs:
            if name not in available:
                raise GraphError(f"graph output '{name}' is never produced")

    def to_json(self) -> str:
        """A stable dump: the same graph always gives the same text."""
        doc = {
            "name": self.name,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "tensors": [self.tensors[k].to_json() for k in sorted(self.tensors)],
            "nodes": [n.to_json() for n in self.nodes],
        }
        return json.dumps(doc, indent=1, sort_keys=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
