"""The unary element-wise family: how LOGISTIC, TANH, ABS, ... run.

int8: a 256-entry table that lowering fills by running the op's own reference kernel (`table_s8`, a port of
TFLM's integer kernel) on every input value, so the table is exact by construction; one C template
(`lut_s8.c.j2`) looks it up. float32: the op's `f32` function (tinyc/ops/_mathf.py where it needs a
transcendental) and the same float steps in C (`unary_f32.c.j2`, one expression per op).
int16 (LOGISTIC and TANH, TFLM's 16-bit kernels): the op's `s16` on the input with the multiplier and shift of
its `params_s16`, and the same in C (`unary_s16.c.j2`).
An op module subclasses UnaryOp and says what the op is: its frontend name, its reference kernels, the dtypes
TFLM has for it (`dtypes`) and the output quantization it requires.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node, Quant
from tinyc.lower.plan import Step
from tinyc.ops import REGISTRY, OpDef, expect
from tinyc.ops._common import quant

INT8_VALUES = np.arange(-128, 128, dtype=np.int64)
FLOAT32 = frozenset({("float32", "float32")})  # ops TFLM has no int8 kernel for
WITH_INT16 = frozenset({("int8", "int8"), ("int16", "int16"), ("float32", "float32")})  # LOGISTIC, TANH


def run_lut_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [step.consts["table"][inputs[0].astype(np.int16) + 128]]


def run_unary_s16(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    op = REGISTRY[str(step.params["op"])]
    assert isinstance(op, UnaryOp)
    return [op.s16(inputs[0], step.params).astype(np.int16)]


def run_unary_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    op = REGISTRY[str(step.params["op"])]
    assert isinstance(op, UnaryOp)
    return [op.f32(inputs[0].astype(np.float32), step.params).astype(np.float32)]


class UnaryOp(OpDef):
    """One input, one output of the same shape and dtype."""

    kernels = {"lut_s8": run_lut_s8, "unary_s16": run_unary_s16, "unary_f32": run_unary_f32}

    def table_s8(self, x: np.ndarray, qi: Quant, qo: Quant, node: Node) -> np.ndarray:
        """The reference int8 kernel on int64 input values: int output values (clamped to int8)."""
        raise NotImplementedError

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        raise NotImplementedError

    def params_s16(self, qi: Quant, qo: Quant, node: Node) -> dict:
        """TFLM's Prepare of the int16 kernel (refusing quantizations it refuses)."""
        raise NotImplementedError

    def s16(self, x: np.ndarray, params: dict) -> np.ndarray:
        """The int16 kernel on the input values."""
        raise NotImplementedError

    def f32_params(self, node: Node) -> dict:
        """Float scalars of the op (e.g. alpha), for the reference and the C template."""
        return {}

    def check_quant(self, qi: Quant, qo: Quant, node: Node) -> None:
        """Refuse output quantizations TFLM refuses."""

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        if x.dtype == "int8":
            self.check_quant(quant(graph, x.name, node), quant(graph, y.name, node), node)
        elif x.dtype == "int16":
            expect(("int16", "int16") in (self.dtypes or ()), node, "int16 is not supported for this op")
            self.params_s16(quant(graph, x.name, node), quant(graph, y.name, node), node)

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        params: dict = {"op": node.op, "size": x.size}
        if x.dtype == "float32":
            return Step("unary_f32", node.name, [x.name], [y.name], params | self.f32_params(node))
        qi, qo = quant(graph, x.name, node), quant(graph, y.name, node)
        if x.dtype == "int16":
            return Step("unary_s16", node.name, [x.name], [y.name], params | self.params_s16(qi, qo, node))
        table = np.clip(self.table_s8(INT8_VALUES, qi, qo, node), -128, 127).astype(np.int8)
        return Step("lut_s8", node.name, [x.name], [y.name], params, {"table": table}, overwrite=(0,))
