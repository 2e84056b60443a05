"""ONNX-ML LinearClassifier / LinearRegressor: s[r, t] = sum_k x[r, k] * w[t, k] + b[t] (float32, k in order,
then + b), the label (classifier) the class of the first largest raw score, then the post-transform (tinyc/ops/_ml.py).
A binary classifier (one coefficient row, two labels) as onnxruntime: label 1 if s > 0, else label 0; the scores
[1 - v, v] with v the post-transformed s (NONE or LOGISTIC).

Inputs: x [rows, K], weights [T, K], bias [T], and for a classifier its int64 class labels [T]. Outputs: the label
[rows] (int64) and scores [rows, T], or the regressor's values [rows, T].
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._float import QUIET
from tinyc.ops._ml import POST_TRANSFORMS, F, first_max, post_transform

ML_DTYPES = frozenset({("float32", "float32"), ("float32", "int64")})  # scores or regressor values; labels


def linear_scores(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    total = np.zeros(x.shape[:-1] + (w.shape[0],), F)
    with np.errstate(**QUIET):
        for k in range(w.shape[1]):
            total = (total + (x[..., k:k + 1] * w[:, k]).astype(F)).astype(F)
        return (total + b).astype(F)


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    n = inputs[0].shape[0]
    x = np.asarray(inputs[0], F).reshape(n, p["rows"], p["depth"])
    s = linear_scores(x, c["weights"], c["bias"])
    out = post_transform(s, p["post"])
    if "labels" not in c:
        return [out.reshape((n, *p["out_shape"]))]
    if p["binary"]:  # onnxruntime: the label from s > 0, the scores [1 - v, v]
        label = np.where(s[..., 0] > 0, c["labels"][1], c["labels"][0])
        return [label.reshape((n, p["rows"])), np.concatenate([(F(1) - out).astype(F), out], axis=-1)
                .reshape((n, *p["out_shape"]))]
    return [c["labels"][first_max(s)].reshape((n, p["rows"])), out.reshape((n, *p["out_shape"]))]


@register
class MlLinear(OpDef):
    name = "ml_linear"
    arity = (3, 4)
    outputs = (1, 2)
    kernels = {"ml_linear": run}
    dtypes = ML_DTYPES

    def check(self, node: Node, graph: Graph) -> None:
        x, w, b = (graph.tensor(n) for n in node.inputs[:3])
        expect(w.is_const and b.is_const and len(w.shape) == 2 and b.shape == (w.shape[0],), node,
               "weights must be a constant [T, K] matrix and bias [T]")
        expect(x.dtype == "float32" and x.size % w.shape[1] == 0, node, f"input is not float32 rows of {w.shape[1]}")
        expect(node.attrs.get("post_transform") in POST_TRANSFORMS, node, "unknown post_transform")
        classifier = len(node.inputs) == 4
        expect(classifier == (len(node.outputs) == 2), node, "a classifier has class labels and two outputs")
        rows = x.size // w.shape[1]
        scores = graph.tensor(node.outputs[-1])
        binary = classifier and w.shape[0] == 1
        expect(scores.dtype == "float32" and scores.size == rows * (2 if binary else w.shape[0]), node,
               "scores must be [rows, T] ([rows, 2] for a binary classifier)")
        if classifier:
            labels, label = graph.tensor(node.inputs[3]), graph.tensor(node.outputs[0])
            expect(labels.is_const and labels.dtype == "int64" and labels.shape == (2 if binary else w.shape[0],),
                   node, "class labels must be a constant int64 [T] (2 for one coefficient row)")
            expect(not binary or node.attrs["post_transform"] in ("NONE", "LOGISTIC"), node,
                   "a binary classifier takes post_transform NONE or LOGISTIC")
            expect(label.dtype == "int64" and label.size == rows, node, "the label output must be int64 [rows]")

    def macs(self, node: Node, graph: Graph) -> int:
        return graph.tensor(node.inputs[0]).size * graph.tensor(node.inputs[1]).shape[0]

    def lower(self, node: Node, graph: Graph) -> Step:
        w = graph.tensor(node.inputs[1])
        params = {"depth": w.shape[1], "targets": w.shape[0], "rows": graph.tensor(node.inputs[0]).size // w.shape[1],
                  "post": node.attrs["post_transform"], "out_shape": graph.tensor(node.outputs[-1]).shape,
                  "binary": len(node.inputs) == 4 and w.shape[0] == 1}
        consts = {"weights": w.data.astype(F), "bias": graph.tensor(node.inputs[2]).data.astype(F)}
        if len(node.inputs) == 4:
            consts["labels"] = graph.tensor(node.inputs[3]).data.astype(np.int64)
        return Step("ml_linear", node.name, [node.inputs[0]], list(node.outputs), params, consts,
                    macs=self.macs(node, graph))
