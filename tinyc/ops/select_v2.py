"""SELECT_V2: out = condition ? x : y, the three operands broadcast to the output (numpy's rule, as TFLM's
BroadcastSelectSlow), each an activation or a constant. The bytes of x and y are copied as they are (TFLM does
not requantize either). Lowering merges the output's dimensions into loops as the binary family does; the C
(`select_v2.c.j2`) is that loop nest with the strides as literals."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._binary import broadcast_loops_n, operand

VALUES = ("int8", "int16", "float32")  # the dtypes TFLM selects between
NAMES = ("t0", "t1", "t2")  # the constants' names in the step


def run_select_v2(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    rank = int(step.params["rank"])
    ins = iter(inputs)
    c, x, y = (operand(step.consts[k], rank, False) if k in step.consts else operand(next(ins), rank, True)
               for k in NAMES)
    out = np.where(c.astype(bool), x, y)
    n = max(v.shape[0] for v in (c, x, y))
    return [np.ascontiguousarray(np.broadcast_to(out, (n, *out.shape[1:])))]


@register
class SelectV2(OpDef):
    name = "select_v2"
    tflite = ("SELECT_V2",)
    arity = (3, 3)
    dtypes = frozenset({(t, t) for t in VALUES} | {("bool", t) for t in VALUES})
    kernels = {"select_v2": run_select_v2}

    def check(self, node: Node, graph: Graph) -> None:
        c, x, y, out = (graph.tensor(n) for n in (*node.inputs, node.outputs[0]))
        expect(c.dtype == "bool", node, f"condition '{c.name}' is {c.dtype}, not bool")
        expect(x.dtype == y.dtype == out.dtype, node, f"x, y and the output differ in dtype ({x.dtype}, {y.dtype}, "
                                                      f"{out.dtype})")
        try:
            shape = tuple(np.broadcast_shapes(c.shape, x.shape, y.shape))
        except ValueError:
            shape = None
        expect(shape == out.shape, node, f"shapes {list(c.shape)}, {list(x.shape)}, {list(y.shape)} do not "
                                         f"broadcast to {list(out.shape)}")
        expect(not (c.is_const and x.is_const and y.is_const), node, "all operands are constants (fold them first)")

    def lower(self, node: Node, graph: Graph) -> Step:
        ts = [graph.tensor(n) for n in node.inputs]
        out = graph.tensor(node.outputs[0])
        dims, strides = broadcast_loops_n([t.shape for t in ts], out.shape)
        params = {"rank": len(out.shape), "dims": tuple(dims), "strides": tuple(tuple(s) for s in strides),
                  "size": out.size}
        consts = {k: np.ascontiguousarray(t.data) for k, t in zip(NAMES, ts, strict=True) if t.is_const}
        return Step("select_v2", node.name, [t.name for t in ts if not t.is_const], [out.name], params, consts)
