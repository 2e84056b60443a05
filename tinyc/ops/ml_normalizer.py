"""ONNX-ML Normalizer over the last axis, as onnxruntime's normalizer.cc (float32, values in order):

- MAX: m the largest value (from -FLT_MAX), each value / m unless m is 0;
- L1: the sum of |x|, each value / it unless it is 0;
- L2: the sum of x * x; each value sqrt(x * x / sum) with x's sign, unless the sum is 0.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._float import QUIET
from tinyc.ops._mathf import sqrtf
from tinyc.ops._ml import FLT_MAX

F = np.float32
NORMS = ("MAX", "L1", "L2")


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    n = inputs[0].shape[0]
    x = np.asarray(inputs[0], F).reshape(n, -1, p["depth"])
    with np.errstate(**QUIET):
        if p["norm"] == "MAX":
            m = np.full(x.shape[:-1], -FLT_MAX, F)
            for k in range(p["depth"]):
                m = np.where(x[..., k] > m, x[..., k], m)
            y = np.where(m[..., None] != 0, x / m[..., None], x)
        else:
            terms = np.abs(x) if p["norm"] == "L1" else (x * x).astype(F)
            total = np.zeros(x.shape[:-1], F)
            for k in range(p["depth"]):
                total = (total + terms[..., k]).astype(F)
            t = total[..., None]
            if p["norm"] == "L1":
                y = np.where(t != 0, x / t, x)
            else:
                root = sqrtf((terms / t).astype(F))
                y = np.where(t != 0, np.where(x < 0, -root, root), x)
    return [y.astype(F).reshape((n, *p["out_shape"]))]


@register
class MlNormalizer(OpDef):
    name = "ml_normalizer"
    kernels = {"ml_normalizer": run}
    dtypes = frozenset({("float32", "float32")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape and len(x.shape) >= 1, node, "output shape must be the input's")
        expect(node.attrs.get("norm") in NORMS, node, f"norm must be one of {', '.join(NORMS)}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x = graph.tensor(node.inputs[0])
        params = {"depth": x.shape[-1], "rows": x.size // x.shape[-1], "out_shape": x.shape,
                  "norm": node.attrs["norm"]}
        return Step("ml_normalizer", node.name, [x.name], [node.outputs[0]], params)
