"""POW (float32; ONNX Pow with an exponent that differs between elements): x ** y as exp(y * log|x|) with tinyc's
deterministic tinyc_expf / tinyc_logf (tinyc/ops/_mathf.py), and powf's special cases: y = 0 or x = 1 give 1, NaN
in gives NaN, a finite negative x needs an integer y (else NaN), and an odd integer y keeps x's sign (-0 included);
|x| = 1 gives magnitude 1 for every y. Within 1.7e-6 relative of powf where |y * log x| <= 46 (the error grows
with it); results below 2**-126 come out 0 (tinyc_expf flushes them), not powf's subnormals. The reference kernel
and pow_f32.c.j2 take the same float32 steps. Both inputs have the output's shape (the frontend broadcasts a
constant exponent); the exponent is a constant or an activation."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._mathf import ERR, expf, logf

F = np.float32
ODD_BELOW = F(16777216.0)  # 2**24: every float32 from here up is an even integer


def powf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x, y = np.asarray(x, F), np.asarray(y, F)
    with np.errstate(**ERR):
        a = np.abs(x)
        integer = np.floor(y) == y
        odd = integer & (np.abs(y) < ODD_BELOW) & (np.floor(y * F(0.5)) * F(2.0) != y)
        r = np.where(a == F(1.0), F(1.0), expf(y * logf(a)))
        r = np.where(np.signbit(x) & odd, -r, r)
        r = np.where((x < 0) & np.isfinite(x) & ~integer, F(np.nan), r)
        r = np.where(np.isnan(x) | np.isnan(y), F(np.nan), r)
        return np.where((y == 0) | (x == F(1.0)), F(1.0), r).astype(F)


def run_pow(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [powf(inputs[0], step.consts["e"] if "e" in step.consts else inputs[1])]


@register
class Pow(OpDef):
    name = "pow"
    arity = (2, 2)
    dtypes = frozenset({("float32", "float32")})
    kernels = {"pow_f32": run_pow}

    def check(self, node: Node, graph: Graph) -> None:
        x, e, y = (graph.tensor(n) for n in (*node.inputs, *node.outputs))
        expect(x.shape == e.shape == y.shape, node,
               f"input shapes {list(x.shape)} and {list(e.shape)} are not the output's {list(y.shape)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, e = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
        consts = {"e": np.ascontiguousarray(e.data, np.float32)} if e.is_const else {}
        return Step("pow_f32", node.name, [x.name] + ([] if e.is_const else [e.name]), list(node.outputs),
                    {"size": int(np.prod(x.shape, dtype=np.int64)), "odd_below": float(ODD_BELOW)}, consts)
