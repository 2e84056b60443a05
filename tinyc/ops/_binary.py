"""The binary element-wise family: how ADD (when it broadcasts two activations, or on int32/int16), SUB, MUL, DIV,
MAXIMUM, MINIMUM and SQUARED_DIFFERENCE run.

Either operand may be an activation or a constant, of any shape that broadcasts to the output (numpy's rule,
as TFLM's Broadcast*Slow kernels). Lowering collapses the output's dimensions into the fewest loops over which
both operands advance by fixed strides (0 along a broadcast dimension); the reference kernel is NumPy
broadcasting, the C (`binary.c.j2`, one template for every op and dtype) is that loop nest with the strides as
literals. Constant operands stay in flash at their own size.

An op module subclasses BinaryOp and says what the op is: its TFLM Prepare (`params_s8`, the multipliers and
shifts) and its integer, float and int32 arithmetic (`s8`, `f32`, `i32`); the template holds the same
arithmetic in C under the op's name.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower.plan import Step
from tinyc.numerics import activation_range
from tinyc.ops import REGISTRY, OpDef, expect
from tinyc.ops._common import activation_of, output_bounds, quant

FLT_MAX = float(np.finfo(np.float32).max)
INT8_OR_FLOAT = frozenset({("int8", "int8"), ("float32", "float32")})
WITH_INT32 = INT8_OR_FLOAT | {("int32", "int32")}


def broadcast_loops(a: tuple[int, ...], b: tuple[int, ...], y: tuple[int, ...]) -> tuple[list[int], list[int],
                                                                                        list[int]]:
    """The output's dimensions merged into loops (outermost first) with each operand's element stride per loop."""
    dims, (a_str, b_str) = broadcast_loops_n([a, b], y)
    return dims, a_str, b_str


def broadcast_loops_n(shapes: list[tuple[int, ...]], y: tuple[int, ...]) -> tuple[list[int], list[list[int]]]:
    """broadcast_loops for any number of operands (SELECT_V2 has three)."""
    rank = len(y)

    def strides(shape: tuple[int, ...]) -> list[int]:
        shape = (1,) * (rank - len(shape)) + tuple(shape)
        out, step = [0] * rank, 1
        for k in range(rank - 1, -1, -1):
            out[k] = step if shape[k] != 1 else 0
            step *= shape[k]
        return out

    full = [strides(s) for s in shapes]
    dims: list[int] = []
    per: list[list[int]] = [[] for _ in shapes]
    for k in range(rank):
        if y[k] == 1:
            continue
        if dims and all(st[-1] == f[k] * y[k] for st, f in zip(per, full, strict=True)):
            dims[-1] *= y[k]  # contiguous with the loop outside it for every operand: one loop
            for st, f in zip(per, full, strict=True):
                st[-1] = f[k]
            continue
        dims.append(y[k])
        for st, f in zip(per, full, strict=True):
            st.append(f[k])
    return dims or [1], [st or [0] for st in per]


def operand(x: np.ndarray, rank: int, batch: bool) -> np.ndarray:
    """An operand with a leading batch axis (1 for a constant), right-aligned to the output's rank."""
    shape = x.shape[1:] if batch else x.shape
    return x.reshape((x.shape[0] if batch else 1, *((1,) * (rank - len(shape))), *shape))


def run_binary(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    op = REGISTRY[str(p["op"])]
    assert isinstance(op, BinaryOp)
    rank = int(p["rank"])
    ins = iter(inputs)
    a, b = (operand(step.consts[k], rank, False) if k in step.consts else operand(next(ins), rank, True)
            for k in ("a", "b"))
    if op.out_dtype == "bool":  # comparisons and logical ops
        out = op.predicate(a, b, p).astype(np.bool_)
    elif p["dtype"] in ("int8", "int16"):  # int16: the int8 arithmetic with int16 parameters (TFLM's 16x8 ADD/MUL)
        v = op.s8(a.astype(np.int64) - p["a_zp"], b.astype(np.int64) - p["b_zp"], p) + p["out_zp"]
        out = np.clip(v, p["act_min"], p["act_max"]).astype(np.dtype(p["dtype"]))
    elif p["dtype"] == "float32":
        with np.errstate(all="ignore"):
            out = op.f32(a.astype(np.float32), b.astype(np.float32)).astype(np.float32)
        if op.fused_activation:  # TFLM's ActivationFunctionWithMinMax: max(v, lo), then min(v, hi); NaN stays
            lo, hi = np.float32(p["act_min"]), np.float32(p["act_max"])
            out = np.where(out < lo, lo, out)
            out = np.where(hi < out, hi, out)
    else:
        out = ((op.i32(a.astype(np.int64), b.astype(np.int64)) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
        out = out.astype(np.int32)
    n = max(x.shape[0] for x in (a, b))
    return [np.ascontiguousarray(np.broadcast_to(out, (n, *out.shape[1:])))]


class BinaryOp(OpDef):
    arity = (2, 2)
    dtypes = INT8_OR_FLOAT
    fused_activation = True  # ADD, SUB, MUL, DIV carry one; MAXIMUM, MINIMUM, SQUARED_DIFFERENCE do not
    out_dtype: str | None = None  # the output's dtype when it is not the operands' ("bool": comparisons)
    kernels = {"binary": run_binary}

    def params_s8(self, qa: Quant, qb: Quant, qy: Quant) -> dict:
        """TFLM's Prepare of the int8 kernel: multipliers and shifts."""
        return {}

    def params_s16(self, qa: Quant, qb: Quant, qy: Quant) -> dict:
        """TFLM's Prepare of the int16 kernel (zero points 0), when the op has one."""
        return self.params_s8(qa, qb, qy)

    def s8(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        """The int8 kernel on int64 operands less their zero points: the output before its zero point and clamp."""
        raise NotImplementedError

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def i32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """int32 arithmetic on int64 values (wrapped to int32 afterwards, as the C wraps)."""
        raise NotImplementedError

    def predicate(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        """The bool result of an op whose out_dtype is bool, on the raw operands."""
        raise NotImplementedError

    def check_quant(self, qa: Quant, qb: Quant, qy: Quant, node: Node) -> None:
        """Refuse quantizations TFLM refuses."""

    def check(self, node: Node, graph: Graph) -> None:
        a, b, y = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            shape = None
        expect(shape is not None and tuple(shape) == y.shape, node,
               f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast to {list(y.shape)}")
        expect(not (a.is_const and b.is_const), node, "both operands are constants (fold them first)")
        expect(a.dtype == b.dtype and y.dtype == (self.out_dtype or a.dtype), node,
               f"operands {a.dtype}, {b.dtype} -> {y.dtype}: not a dtype pair of {node.op}")
        act = activation_of(node) if self.fused_activation else "none"
        expect(y.dtype != "int32" or act == "none", node, "int32 arithmetic takes no fused activation (TFLM)")
        if y.dtype in ("int8", "int16"):
            qa, qb, qy = (quant(graph, t.name, node) for t in (a, b, y))
            for t, qt in ((a, qa), (b, qb), (y, qy)):
                expect(qt.scale.size == 1, node, f"'{t.name}' must be quantized per tensor")
                expect(y.dtype == "int8" or qt.zp == 0, node, f"int16 '{t.name}' needs zero point 0 (TFLM)")
            self.check_quant(qa, qb, qy, node)

    def lower(self, node: Node, graph: Graph) -> Step:
        a, b, y = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
        dims, a_str, b_str = broadcast_loops(a.shape, b.shape, y.shape)
        params: dict = {"op": node.op, "dtype": a.dtype, "rank": len(y.shape), "dims": tuple(dims),
                        "a_strides": tuple(a_str), "b_strides": tuple(b_str), "size": y.size}
        consts = {k: np.ascontiguousarray(t.data) for k, t in (("a", a), ("b", b)) if t.is_const}
        if y.dtype in ("int8", "int16"):
            qa, qb, qy = (quant(graph, t.name, node) for t in (a, b, y))
            params |= {"a_zp": qa.zp, "b_zp": qb.zp, "out_zp": qy.zp}
            params |= self.params_s8(qa, qb, qy) if y.dtype == "int8" else self.params_s16(qa, qb, qy)
            act = activation_of(node) if self.fused_activation else "none"
            lo, hi = activation_range(act, qy.s, qy.zp, y.dtype)
            params |= {"act_min": lo, "act_max": hi}
        elif y.dtype == "float32" and self.fused_activation:
            lo, hi = output_bounds(node, graph).values()
            params |= {"act_min": max(float(lo), -FLT_MAX), "act_max": min(float(hi), FLT_MAX)}
        inputs = [t.name for t in (a, b) if not t.is_const]
        return Step("binary", node.name, inputs, [y.name], params, consts)

    def macs(self, node: Node, graph: Graph) -> int:
        return 0


def is_binary_case(a: Tensor, b: Tensor, y: Tensor) -> bool:
    """ADD goes through the family unless its first operand is an activation of the output's shape and its second
    one of the same shape or a constant (the fast add kernels), and on int32 and int16."""
    return a.dtype in ("int32", "int16") or a.is_const or a.shape != y.shape or (not b.is_const and a.shape != b.shape)
