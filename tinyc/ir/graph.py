"""Nodes and graphs of the IR, the verifier, and the stable JSON dump.

Layout convention: activations are NHWC (TFLite's and CMSIS-NN's layout); dimension 0 of every
activation is the batch and is 1 in the IR. Frontends convert other layouts on entry.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyc.errors import GraphError, shown
from tinyc.ir.tensor import DTYPES, Tensor

# Limits of what tinyc compiles (far beyond any microcontroller's memory): a model file that asks for more is
# refused by its frontend before anything is allocated, and by the verifier in any case.
MAX_RANK = 8
MAX_ELEMENTS = 1 << 28  # values of one tensor
MAX_BYTES = 1 << 30  # bytes of one tensor
MAX_TOTAL_BYTES = 1 << 30  # bytes of all tensors of a graph together
MAX_MACS = 1 << 36  # multiply-accumulates of one inference
# Quantization scales outside this range give requantization multipliers the int8 kernels cannot represent.
SCALE_RANGE = (1e-30, 1e30)
ZERO_POINT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
                    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**31), 2**31 - 1), "float32": (-(2**31), 2**31 - 1)}


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
            raise GraphError(f"duplicate tensor name '{shown(tensor.name)}'")
        self.tensors[tensor.name] = tensor
        return tensor

    def tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise GraphError(f"unknown tensor '{shown(name)}'") from None

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
        """Reject an ill-formed graph with a message naming the node and tensor at fault.

        The invariants every later stage relies on: names are text; every tensor fits the size limits
        (MAX_ELEMENTS, MAX_BYTES, MAX_TOTAL_BYTES); constants hold data of their shape and dtype;
        quantization parameters are finite, in range (SCALE_RANGE, the dtype's zero points) and of the
        right length for their axis; activations are quantized per tensor; every tensor a node reads
        exists and is produced before it, every output is produced by a node; each op's own rule holds
        (its dtypes, then its check); the graph's multiply-accumulates stay within MAX_MACS.
        """
        from tinyc.ops import REGISTRY

        if not self.inputs or not self.outputs:
            raise GraphError(f"graph '{shown(self.name)}' has no {'inputs' if not self.inputs else 'outputs'}")
        for name, tensor in self.tensors.items():
            _check_name(name, "tensor")
            if name != tensor.name:
                raise GraphError(f"tensor registered as '{shown(name)}' is named '{shown(tensor.name)}'")
            check_tensor(tensor)
        total = sum(t.nbytes for t in self.tensors.values())
        if total > MAX_TOTAL_BYTES:
            raise GraphError(f"graph '{shown(self.name)}' holds {total:,} bytes of tensors, more than the limit "
                             f"{MAX_TOTAL_BYTES:,}")
        available = {n for n, t in self.tensors.items() if t.is_const} | set(self.inputs)
        for what, names in (("input", self.inputs), ("output", self.outputs)):
            if len(set(names)) != len(names):
                raise GraphError(f"graph '{shown(self.name)}' lists an {what} twice")
        for name in self.inputs:
            if name not in self.tensors:
                raise GraphError(f"graph input '{shown(name)}' is not a tensor")
            if self.tensors[name].is_const:
                raise GraphError(f"graph input '{shown(name)}' is a constant")
        seen_nodes: set[str] = set()
        produced: set[str] = set()
        for node in self.nodes:
            _check_name(node.name, "node")
            where = f"node '{shown(node.name)}' ({shown(node.op)})"
            if node.name in seen_nodes:
                raise GraphError(f"duplicate node name '{shown(node.name)}'")
            seen_nodes.add(node.name)
            if node.op not in REGISTRY:
                raise GraphError(f"{where} has an unknown op")
            REGISTRY[node.op].verify_arity(node)
            for name in node.inputs:
                if not name:
                    continue
                if name not in self.tensors:
                    raise GraphError(f"{where} reads unknown tensor '{shown(name)}'")
                if name not in available:
                    raise GraphError(f"{where} reads '{shown(name)}' before it is produced "
                                     "(graph not in topological order or cyclic)")
            for name in node.outputs:
                if name not in self.tensors:
                    raise GraphError(f"{where} writes unknown tensor '{shown(name)}'")
                if name in available:
                    raise GraphError(f"tensor '{shown(name)}' is written twice (second time by {where})")
                available.add(name)
                produced.add(name)
            REGISTRY[node.op].check_dtypes(node, self)
            REGISTRY[node.op].check(node, self)
        for name in self.outputs:
            if name not in produced:
                what = "a constant" if name in self.tensors and self.tensors[name].is_const else (
                    "a graph input" if name in self.inputs else "never produced")
                raise GraphError(f"graph output '{shown(name)}' is {what}; no node computes it")
        macs = sum(REGISTRY[node.op].macs(node, self) for node in self.nodes)
        if macs > MAX_MACS:
            raise GraphError(f"graph '{shown(self.name)}' needs {macs:,} multiply-accumulates per inference, more "
                             f"than the limit {MAX_MACS:,}")

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


def check_shape(shape: tuple[int, ...], dtype: str, what: str) -> None:
    """Refuse a shape outside the limits (frontends call this before reading or allocating any data)."""
    if len(shape) > MAX_RANK:
        raise GraphError(f"{what} has {len(shape)} dimensions, more than the limit {MAX_RANK}")
    if any(int(d) <= 0 for d in shape):
        raise GraphError(f"{what} has a non-positive dimension in shape {list(shape)}")
    elements = math.prod(int(d) for d in shape)
    nbytes = elements * (np.dtype(DTYPES[dtype]).itemsize if dtype in DTYPES else 1)
    if elements > MAX_ELEMENTS or nbytes > MAX_BYTES:
        raise GraphError(f"{what} of shape {list(shape)} has {elements:,} values ({nbytes:,} bytes), more than the "
                         f"limit of {MAX_ELEMENTS:,} values and {MAX_BYTES:,} bytes per tensor")


def _check_name(name: object, what: str) -> None:
    if not isinstance(name, str) or (not name and what == "node"):
        raise GraphError(f"{what} name {shown(repr(name))} is not a text name")


def check_tensor(t: Tensor) -> None:
    where = f"tensor '{shown(t.name)}'"
    if t.dtype not in DTYPES:
        raise GraphError(f"{where} has unknown dtype {shown(t.dtype)}")
    check_shape(t.shape, t.dtype, where)
    if t.data is not None and (t.data.shape != t.shape or t.data.dtype != t.np_dtype):
        raise GraphError(f"{where} holds {t.data.dtype}{list(t.data.shape)} data for {t.dtype}{list(t.shape)}")
    q = t.quant
    if q is None:
        return
    if q.scale.shape != q.zero_point.shape or q.scale.size == 0:
        raise GraphError(f"{where}: {q.scale.size} scales but {q.zero_point.size} zero points")
    lo, hi = SCALE_RANGE
    if not np.all(np.isfinite(q.scale)) or np.any(q.scale < lo) or np.any(q.scale > hi):
        bad = q.scale[~(np.isfinite(q.scale) & (q.scale >= lo) & (q.scale <= hi))][0]
        raise GraphError(f"{where} has quantization scale {float(bad):g}, outside the supported {lo:g}..{hi:g}")
    zlo, zhi = ZERO_POINT_RANGE[t.dtype]
    if np.any(q.zero_point < zlo) or np.any(q.zero_point > zhi):
        raise GraphError(f"{where} has a zero point outside {zlo}..{zhi} for {t.dtype}")
    if q.axis is not None and not (0 <= q.axis < len(t.shape)):
        raise GraphError(f"{where} quantization axis {q.axis} out of range")
    if q.scale.size > 1 and (q.axis is None or q.scale.size != t.shape[q.axis]):
        axis = "no axis" if q.axis is None else f"{t.shape[q.axis]} channels on axis {q.axis}"
        raise GraphError(f"{where} has {q.scale.size} scales for {axis}")
    if q.scale.size > 1 and t.data is None:
        raise GraphError(f"{where} is an activation quantized per channel; activations take one scale")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
