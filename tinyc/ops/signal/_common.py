"""Checks shared by the signal ops: exact tensor dtypes and ranks, constant inputs, integer attributes."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.ops import expect


def tensor_is(graph: Graph, node: Node, name: str, dtype: str, rank: int | None = None, what: str = "") -> None:
    t = graph.tensor(name)
    label = what or f"tensor '{name}'"
    expect(t.dtype == dtype, node, f"{label} must be {dtype}, got {t.dtype}")
    if rank is not None:
        expect(len(t.shape) == rank, node, f"{label} must have rank {rank}, got shape {list(t.shape)}")


def const_of(graph: Graph, node: Node, index: int, what: str) -> np.ndarray:
    expect(len(node.inputs) > index and bool(node.inputs[index]), node, f"the {what} input is missing")
    t = graph.tensor(node.inputs[index])
    expect(t.is_const, node, f"the {what} input must be a constant tensor")
    return t.data.reshape(-1)


def int_attr(node: Node, key: str, lo: int, hi: int) -> int:
    """An integer attribute in lo..hi (bools are not integers here)."""
    value = node.attrs.get(key)
    expect(isinstance(value, (int, np.integer)) and not isinstance(value, bool), node,
           f"attribute '{key}' must be an integer, got {value!r}")
    expect(lo <= int(value) <= hi, node, f"attribute '{key}' = {int(value)} is outside {lo}..{hi}")
    return int(value)


INT32 = (-(2**31), 2**31 - 1)
