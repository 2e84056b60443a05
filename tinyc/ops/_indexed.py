"""Gathers whose indices are known at run time only: GATHER with activation indices, GATHER_ND, EMBEDDING_LOOKUP.

All three are one kernel (`gather_rows`): the source viewed as [outer, rows, inner], the indices as [groups, n, k];
output row (o, i) is source row (o, sum_j index[o / per, i, j] * stride_j) of `inner` elements, `per` consecutive
outer rows sharing one group of indices (GATHER's batch_dims: one group per batch; otherwise one group). An index
outside its dimension (TFLM stops with an error there) gives a row of zeros instead of reading out of bounds. The
source or the indices may be constants (an embedding table usually is). With a `scale` (EMBEDDING_LOOKUP's hybrid
form) the int8 rows are dequantized to float32 as TFLM's Dequantize: (float)value * scale, zero point 0."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Tensor
from tinyc.lower.plan import Step

VALUES = ("float32", "int8", "int16", "int32")
INDEX = ("int32", "int64")


def dtypes_for(values: tuple[str, ...], index: tuple[str, ...] = INDEX) -> frozenset[tuple[str, str]]:
    return frozenset({(t, t) for t in values} | {(i, t) for i in index for t in values})


def run_gather_rows(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    ins = iter(inputs)
    x = step.consts["x"][np.newaxis] if "x" in step.consts else next(ins)
    idx = step.consts["idx"][np.newaxis] if "idx" in step.consts else next(ins)
    outer, rows, inner, n, groups = (int(p[k]) for k in ("outer", "rows", "inner", "n", "groups"))
    dims, strides = np.array(p["dims"], np.int64), np.array(p["strides"], np.int64)
    batch = max(x.shape[0], idx.shape[0])
    xs = x.reshape(x.shape[0], outer, rows, inner)
    ii = idx.reshape(idx.shape[0], groups, n, len(dims)).astype(np.int64)
    valid = np.all((ii >= 0) & (ii < dims), axis=-1)
    row = np.where(valid, np.sum(ii * strides, axis=-1), 0)
    group = np.arange(outer) // int(p["per"])  # the index group of each outer row
    out = np.zeros((batch, outer, n, inner), x.dtype)
    for b in range(batch):
        xb, rb, vb = xs[b % xs.shape[0]], row[b % row.shape[0]][group], valid[b % valid.shape[0]][group]
        picked = xb[np.arange(outer)[:, np.newaxis], rb, :]
        out[b] = np.where(vb[:, :, np.newaxis], picked, np.zeros((), x.dtype))
    if "scale" in p:
        out = out.astype(np.float32) * np.float32(p["scale"])
    return [out.reshape(batch, *p["out_shape"])]


def lower_gather_rows(node_name: str, x: Tensor, idx: Tensor, out: Tensor, outer: int, dims: tuple[int, ...],
                      inner: int, groups: int = 1, scale: float | None = None) -> Step:
    """The step of a gather: source x as [outer, prod(dims), inner], indices [groups, n, len(dims)] into dims, each
    group for outer / groups consecutive outer rows."""
    strides = [int(np.prod(dims[j + 1:], dtype=np.int64)) for j in range(len(dims))]
    params = {"outer": outer, "rows": int(np.prod(dims, dtype=np.int64)), "inner": inner,
              "n": idx.size // len(dims) // groups, "groups": groups, "per": outer // groups, "dims": tuple(dims),
              "strides": tuple(strides), "out_shape": out.shape, "size": out.size}
    if scale is not None:
        params["scale"] = scale
    consts = {k: np.ascontiguousarray(t.data) for k, t in (("x", x), ("idx", idx)) if t.is_const}
    return Step("gather_rows", node_name, [t.name for t in (x, idx) if not t.is_const], [out.name], params, consts)


KERNELS = {"gather_rows": run_gather_rows}
