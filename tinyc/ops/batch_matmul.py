"""BATCH_MATMUL as TFLM's kernel (batch_matmul.cc, reference batch_matmul.h): lhs [..., R, K] x rhs [..., K, C]
-> [..., R, C] (adj_x / adj_y: the operand is stored transposed, [..., K, R] / [..., C, K]); ranks 2 to 5, the
batch dimensions broadcast (aligned from the right, a dimension of 1 repeats). Either operand may be a constant.

int8: sum over k of (lhs - zp_lhs) * (rhs - zp_rhs) in int32 (the verifier bounds it), then
MultiplyByQuantizedMultiplier by s_lhs * s_rhs / s_out (in double), + zp_out, clamped to int8 (no fused
activation). float32: the products summed from 0.0f in k order, as TFLM's loop.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import check_multiplier, quant

BATCH_DIMS = 3  # TFLM extends both shapes to rank 5: three batch dimensions, then the matrix


def _operands(step: Step, inputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """lhs as (N, b0, b1, b2, R, K) and rhs as (N, b0, b1, b2, K, C), whichever of them are constants."""
    p = step.params
    given = iter(inputs)
    n = len(inputs[0]) if inputs else 1
    ops = []
    for side, adj in (("lhs", p["adj_x"]), ("rhs", p["adj_y"])):
        a = step.consts[side][np.newaxis] if side in step.consts else next(given)
        a = a.reshape((len(a),) + _extended(p[f"{side}_shape"]))  # the batch dimensions aligned from the right
        ops.append(np.swapaxes(a, -1, -2) if adj else a)
    lhs, rhs = ops
    return np.broadcast_to(lhs, (n,) + lhs.shape[1:]), np.broadcast_to(rhs, (n,) + rhs.shape[1:])


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    lhs, rhs = _operands(step, inputs)
    # integer sums below 2**31 (the verifier's bound): exact in float64
    total = np.rint(np.matmul(lhs.astype(np.float64) - p["lhs_zp"], rhs.astype(np.float64) - p["rhs_zp"]))
    out = np.clip(mbqm(total.astype(np.int64), p["mult"], p["shift"]) + p["out_zp"], -128, 127).astype(np.int8)
    return [out.reshape((len(out),) + tuple(p["out_shape"]))]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    lhs, rhs = _operands(step, inputs)
    lhs, rhs = lhs.astype(np.float32), rhs.astype(np.float32)
    total = np.zeros(np.broadcast_shapes(lhs.shape[:-1] + (1,), rhs.shape[:-2] + (1, rhs.shape[-1])), np.float32)
    with np.errstate(all="ignore"):
        for k in range(lhs.shape[-1]):  # float32 rounding after every product and every sum, k ascending
            total = total + lhs[..., :, k, None] * rhs[..., None, k, :]
    return [total.reshape((len(total),) + tuple(p["out_shape"]))]


def _extended(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (1,) * (BATCH_DIMS + 2 - len(shape)) + tuple(shape)


@register
class BatchMatMul(OpDef):
    name = "batch_matmul"
    tflite = ("BATCH_MATMUL",)
    arity = (2, 2)
    kernels = {"batch_matmul_s8": run_s8, "batch_matmul_f32": run_f32}

    def matrix(self, node: Node, graph: Graph) -> tuple[int, int, int, int]:
        """(rows R, depth K of lhs, depth K of rhs, columns C)."""
        a, b = (graph.tensor(n).shape for n in node.inputs)
        r, k = (a[-1], a[-2]) if node.attrs.get("adj_x") else (a[-2], a[-1])
        k2, c = (b[-1], b[-2]) if node.attrs.get("adj_y") else (b[-2], b[-1])
        return r, k, k2, c

    def check(self, node: Node, graph: Graph) -> None:
        a, b, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        expect(all(bool(n) for n in node.inputs), node, "needs two operands")
        expect(2 <= len(a.shape) <= 5 and 2 <= len(b.shape) <= 5, node, "operands must have rank 2 to 5 (as TFLM)")
        expect(not (a.is_const and b.is_const and node.outputs[0] in graph.outputs), node,
               "both operands are constants: nothing to compute at run time")
        r, k, k2, c = self.matrix(node, graph)
        expect(k == k2, node, f"contraction sizes differ: {list(a.shape)} x {list(b.shape)}")
        ea, eb = _extended(a.shape), _extended(b.shape)
        expect(all(u == v or 1 in (u, v) for u, v in zip(ea[:BATCH_DIMS], eb[:BATCH_DIMS], strict=True)), node,
               f"batch dimensions of {list(a.shape)} and {list(b.shape)} do not broadcast")
        batch = tuple(max(u, v) for u, v in zip(ea[:BATCH_DIMS], eb[:BATCH_DIMS], strict=True))
        want = batch[BATCH_DIMS + 2 - max(len(a.shape), len(b.shape)):] + (r, c)
        expect(y.shape == want, node, f"output shape {list(y.shape)}, expected {list(want)}")
        expect(a.dtype == b.dtype == y.dtype, node, f"operands and output must share one dtype, got "
                                                    f"{a.dtype}, {b.dtype} -> {y.dtype}")
        if a.dtype == "int8":
            qa, qb, qy = (quant(graph, t.name, node) for t in (a, b, y))
            expect(not (qa.per_channel or qb.per_channel or qy.per_channel), node, "needs per-tensor quantization")
            check_multiplier(node, qa.s * qb.s / qy.s, "requantization multiplier")
            expect(k * 255 * 255 < 2**31, node, f"its int32 sums could overflow (depth {k})")

    def macs(self, node: Node, graph: Graph) -> int:
        r, k, _, c = self.matrix(node, graph)
        y = graph.tensor(node.outputs[0])
        return y.size * k

    def lower(self, node: Node, graph: Graph) -> Step:
        a, b, y = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        r, k, _, c = self.matrix(node, graph)
        ea, eb = _extended(a.shape), _extended(b.shape)

        def strides(ext: tuple[int, ...]) -> tuple[int, ...]:  # TFLM's extent(): 0 along a broadcast dimension
            return tuple(0 if ext[i] == 1 else int(np.prod(ext[i + 1:])) for i in range(BATCH_DIMS))

        params: dict = {"adj_x": bool(node.attrs.get("adj_x")), "adj_y": bool(node.attrs.get("adj_y")),
                        "lhs_shape": a.shape, "rhs_shape": b.shape, "out_shape": y.shape, "rows": r, "depth": k,
                        "cols": c, "batch": tuple(max(u, v) for u, v in zip(ea[:3], eb[:3], strict=True)),
                        "lhs_strides": strides(ea), "rhs_strides": strides(eb),
                        "lhs_const": a.is_const, "rhs_const": b.is_const}
        consts = {side: t.data for side, t in (("lhs", a), ("rhs", b)) if t.is_const}
        inputs = [t.name for t in (a, b) if not t.is_const]
        step = Step("batch_matmul_f32", node.name, inputs, [y.name], params, consts, macs=self.macs(node, graph))
        if a.dtype == "int8":
            qa, qb, qy = (quant(graph, t.name, node) for t in (a, b, y))
            mult, shift = quantize_multiplier(qa.s * qb.s / qy.s)
            params |= {"lhs_zp": qa.zp, "rhs_zp": qb.zp, "out_zp": qy.zp, "mult": mult, "shift": shift}
            step.kernel = "batch_matmul_s8"
        return step
