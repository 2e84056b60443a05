"""ONNX-ML Scaler: y[r, k] = (x[r, k] - offset[k]) * scale[k] in float32, as onnxruntime's scaler.cc."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._float import QUIET

F = np.float32


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    n = inputs[0].shape[0]
    x = np.asarray(inputs[0], F).reshape(n, -1, p["depth"])
    with np.errstate(**QUIET):
        y = ((x - c["offset"]).astype(F) * c["scale"]).astype(F)
    return [y.reshape((n, *p["out_shape"]))]


@register
class MlScaler(OpDef):
    name = "ml_scaler"
    kernels = {"ml_scaler": run}
    dtypes = frozenset({("float32", "float32")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape and len(x.shape) >= 1, node, "output shape must be the input's")
        for key in ("offset", "scale"):
            v = np.asarray(node.attrs[key])
            expect(v.ndim == 1 and v.size == x.shape[-1], node, f"{key} must have {x.shape[-1]} values")

    def lower(self, node: Node, graph: Graph) -> Step:
        x = graph.tensor(node.inputs[0])
        params = {"depth": x.shape[-1], "rows": x.size // x.shape[-1], "out_shape": x.shape}
        consts = {k: np.asarray(node.attrs[k], F) for k in ("offset", "scale")}
        return Step("ml_scaler", node.name, [x.name], [node.outputs[0]], params, consts, overwrite=(0,))
