"""EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL: bool results in the binary family.

float32, int32, int64 (and bool for EQUAL / NOT_EQUAL) compare the raw values; int8 compares as TFLM's
*WithScaling: each operand less its zero point, shifted left by 8 and rescaled by its own scale
(QuantizeMultiplierSmallerThanOneExp, so TFLM takes scales below 1 only). TFLM's int16 GREATER is refused: the
TFLM release tinyc tests against answers false for every int16 pair (100 > -100 included).
"""

from __future__ import annotations

import operator

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import multiply_by_quantized_multiplier, quantize_multiplier
from tinyc.ops import expect, register
from tinyc.ops._binary import BinaryOp
from tinyc.ops._common import quant

LEFT_SHIFT = 8
NUMERIC = frozenset({("float32", "bool"), ("int32", "bool"), ("int64", "bool"), ("int8", "bool")})


class ComparisonOp(BinaryOp):
    out_dtype = "bool"
    fused_activation = False
    dtypes = NUMERIC
    compare = staticmethod(operator.eq)

    def check(self, node: Node, graph: Graph) -> None:
        super().check(node, graph)
        for name in node.inputs:
            t = graph.tensor(name)
            if t.dtype in ("int8", "int16"):
                q = quant(graph, name, node)
                expect(q.scale.size == 1, node, f"'{name}' must be quantized per tensor")
                expect(0.0 < q.s < 1.0 and quantize_multiplier(q.s)[1] <= 0, node,
                       f"scale {q.s} of '{name}' is not below 1 (TFLM's comparisons need that)")

    def lower(self, node: Node, graph: Graph) -> Step:
        step = super().lower(node, graph)
        if step.params["dtype"] in ("int8", "int16"):
            qa, qb = (quant(graph, n, node) for n in node.inputs)
            (m1, s1), (m2, s2) = quantize_multiplier(qa.s), quantize_multiplier(qb.s)
            step.params |= {"a_zp": qa.zp, "b_zp": qb.zp, "left_shift": LEFT_SHIFT, "m1": m1, "s1": s1,
                            "m2": m2, "s2": s2}
        return step

    def predicate(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        if p["dtype"] in ("int8", "int16"):
            a = multiply_by_quantized_multiplier((a.astype(np.int64) - p["a_zp"]) << LEFT_SHIFT, p["m1"], p["s1"])
            b = multiply_by_quantized_multiplier((b.astype(np.int64) - p["b_zp"]) << LEFT_SHIFT, p["m2"], p["s2"])
        return self.compare(a, b)


@register
class Equal(ComparisonOp):
    name = "equal"
    tflite = ("EQUAL",)
    dtypes = NUMERIC | {("bool", "bool")}


@register
class NotEqual(ComparisonOp):
    name = "not_equal"
    tflite = ("NOT_EQUAL",)
    dtypes = NUMERIC | {("bool", "bool")}
    compare = staticmethod(operator.ne)


@register
class Greater(ComparisonOp):
    name = "greater"
    tflite = ("GREATER",)
    compare = staticmethod(operator.gt)


@register
class GreaterEqual(ComparisonOp):
    name = "greater_equal"
    tflite = ("GREATER_EQUAL",)
    compare = staticmethod(operator.ge)


@register
class Less(ComparisonOp):
    name = "less"
    tflite = ("LESS",)
    compare = staticmethod(operator.lt)


@register
class LessEqual(ComparisonOp):
    name = "less_equal"
    tflite = ("LESS_EQUAL",)
    compare = staticmethod(operator.le)
