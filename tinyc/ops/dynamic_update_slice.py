"""DYNAMIC_UPDATE_SLICE (float32, int8, int32 as TFLM): the operand with `update` written over it at start
indices that may be known at run time only (int32 or int64), each clamped to 0..operand_dim - update_dim as TFLM's
CalculateClampedStartIndices. Operand, update or indices may be constants."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._movement import strides_of

VALUES = ("float32", "int8", "int32")
KEYS = ("x", "u", "idx")  # operand, update, start indices (the names of constant operands in the C)
MAX_RANK = 6  # TFLM's kMaxDimensions


def run_dynamic_update_slice(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    ins = iter(inputs)
    x, u, idx = (step.consts[k][np.newaxis] if k in step.consts else next(ins) for k in KEYS)
    shape, ushape = np.array(p["shape"], np.int64), tuple(p["update_shape"])
    batch = max(a.shape[0] for a in (x, u, idx))
    out = np.empty((batch, *p["shape"]), x.dtype)
    for b in range(batch):
        start = np.clip(idx[b % idx.shape[0]].reshape(-1).astype(np.int64), 0, shape - ushape)
        out[b] = x[b % x.shape[0]].reshape(p["shape"])
        out[b][tuple(slice(s, s + n) for s, n in zip(start.tolist(), ushape, strict=True))] = \
            u[b % u.shape[0]].reshape(ushape)
    return [out]


@register
class DynamicUpdateSlice(OpDef):
    name = "dynamic_update_slice"
    tflite = ("DYNAMIC_UPDATE_SLICE",)
    arity = (3, 3)
    kernels = {"dynamic_update_slice": run_dynamic_update_slice}
    dtypes = frozenset({(t, t) for t in VALUES} | {(i, t) for i in ("int32", "int64") for t in VALUES})

    def check(self, node: Node, graph: Graph) -> None:
        x, u, idx, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        expect(x.dtype == u.dtype == y.dtype and x.shape == y.shape, node,
               f"operand {x.dtype}{list(x.shape)}, update {u.dtype} -> {y.dtype}{list(y.shape)}: not one dtype "
               "and the operand's shape")
        expect(len(x.shape) <= MAX_RANK, node, f"rank {len(x.shape)} is above TFLM's {MAX_RANK}")
        expect(len(u.shape) == len(x.shape) and all(a <= b for a, b in zip(u.shape, x.shape, strict=True)), node,
               f"update {list(u.shape)} does not fit in the operand {list(x.shape)}")
        expect(idx.dtype in ("int32", "int64") and idx.shape == (len(x.shape),), node,
               f"start indices must be int32/int64 of shape [{len(x.shape)}]")
        if x.dtype == "int8":
            qs = [graph.tensor(n).quant for n in (x.name, u.name, y.name)]
            expect(all(q is not None for q in qs) and all(np.array_equal(q.scale, qs[0].scale)
                                                           and np.array_equal(q.zero_point, qs[0].zero_point)
                                                           for q in qs), node,
                   "int8 operand, update and output need one quantization (TFLM copies the bytes)")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, u, idx, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        params = {"shape": x.shape, "update_shape": u.shape, "strides": strides_of(x.shape),
                  "update_strides": strides_of(u.shape), "size": x.size, "update_size": u.size,
                  "limits": tuple(a - b for a, b in zip(x.shape, u.shape, strict=True))}
        consts = {k: np.ascontiguousarray(t.data) for k, t in zip(KEYS, (x, u, idx), strict=True) if t.is_const}
        return Step("dynamic_update_slice", node.name, [t.name for t in (x, u, idx) if not t.is_const], [y.name],
                    params, consts)
