"""ONNX-ML SVMClassifier (one-vs-one, no probabilities) / SVMRegressor, float32 in onnxruntime's order:

- kernel value of each support vector v: LINEAR d, POLY (gamma * d + coef0)^degree (integer degree, multiplied
  out), SIGMOID tanh(gamma * d + coef0), RBF exp(-gamma * sum_k (x[k] - sv[k])^2), with d = sum_k x[k] * sv[k]
  (k in order);
- regressor: sum_v coef[v] * K[v] in order, + rho;
- classifier, for each class pair i < j in order: the sum over class i's vectors of coef[j - 1][v] * K[v], then
  over class j's of coef[i][v] * K[v], + rho[pair]: the pair's score; a vote for i if it is > 0, else for j. The
  label is the first class with the most votes; the scores output holds the pair scores (post-transform NONE),
  for two classes [-score, score] as onnxruntime's.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._float import QUIET
from tinyc.ops._mathf import expf, tanhf
from tinyc.ops._ml import F, first_max
from tinyc.ops.ml_linear import ML_DTYPES

KERNELS = ("LINEAR", "POLY", "RBF", "SIGMOID")


def kernel_values(x: np.ndarray, sv: np.ndarray, p: dict) -> np.ndarray:
    """[..., V] kernel values of rows x [..., K] against support vectors sv [V, K]."""
    total = np.zeros(x.shape[:-1] + (sv.shape[0],), F)
    gamma, coef0 = F(p["gamma"]), F(p["coef0"])
    with np.errstate(**QUIET):
        for k in range(sv.shape[1]):
            if p["kernel"] == "RBF":
                d = (x[..., k:k + 1] - sv[:, k]).astype(F)
                total = (total + (d * d).astype(F)).astype(F)
            else:
                total = (total + (x[..., k:k + 1] * sv[:, k]).astype(F)).astype(F)
        if p["kernel"] == "RBF":
            return expf((-gamma * total).astype(F))
        if p["kernel"] == "LINEAR":
            return total
        z = ((gamma * total).astype(F) + coef0).astype(F)
        if p["kernel"] == "SIGMOID":
            return tanhf(z)
        out = np.ones_like(z)
        for _ in range(p["degree"]):
            out = (out * z).astype(F)
        return out


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    n = inputs[0].shape[0]
    x = np.asarray(inputs[0], F).reshape(n, p["rows"], p["depth"])
    kv = kernel_values(x, c["vectors"], p)
    coef, rho = c["coef"], c["rho"]
    with np.errstate(**QUIET):
        if "labels" not in c:
            total = np.zeros(kv.shape[:-1], F)
            for v in range(kv.shape[-1]):
                total = (total + (coef[v] * kv[..., v]).astype(F)).astype(F)
            return [(total + rho[0]).astype(F).reshape((n, *p["out_shape"]))]
        starts = np.concatenate([[0], np.cumsum(p["per_class"])]).astype(int)
        classes = len(p["per_class"])
        votes = np.zeros(kv.shape[:-1] + (classes,), np.int32)
        scores = []
        for i in range(classes):
            for j in range(i + 1, classes):
                total = np.zeros(kv.shape[:-1], F)
                for row, cls in ((j - 1, i), (i, j)):
                    for v in range(starts[cls], starts[cls + 1]):
                        total = (total + (coef[row * kv.shape[-1] + v] * kv[..., v]).astype(F)).astype(F)
                total = (total + rho[len(scores)]).astype(F)
                scores.append(total)
                votes[..., i] += total > 0
                votes[..., j] += ~(total > 0)
    label = c["labels"][first_max(votes)]
    if classes == 2:  # onnxruntime's binary scores
        scores = [-scores[0], scores[0]]
    return [label.reshape((n, p["rows"])), np.stack(scores, axis=-1).reshape((n, *p["out_shape"]))]


@register
class MlSvm(OpDef):
    name = "ml_svm"
    arity = (1, 1)
    outputs = (1, 2)
    kernels = {"ml_svm": run}
    dtypes = ML_DTYPES

    def check(self, node: Node, graph: Graph) -> None:
        a = node.attrs
        x = graph.tensor(node.inputs[0])
        sv = np.asarray(a["vectors"])
        expect(a["kernel"] in KERNELS, node, f"kernel must be one of {', '.join(KERNELS)}")
        expect(sv.ndim == 2 and sv.shape[0] >= 1 and x.size % sv.shape[1] == 0, node,
               "support vectors must be [V, K] with rows of K inputs")
        expect(a["kernel"] != "POLY" or 0 <= a["degree"] <= 16, node, "POLY degree must be an integer in 0..16")
        classifier = len(node.outputs) == 2
        v = sv.shape[0]
        if classifier:
            per = a["per_class"]
            expect(len(per) >= 2 and sum(per) == v and min(per) >= 0, node,
                   "vectors_per_class must split the support vectors among 2 or more classes")
            expect(len(a["coef"]) == (len(per) - 1) * v and len(a["rho"]) == len(per) * (len(per) - 1) // 2
                   and len(a["labels"]) == len(per), node, "coefficients, rho or class labels of the wrong size")
        else:
            expect(len(a["coef"]) == v and len(a["rho"]) == 1, node, "coefficients of V values and one rho")

    def lower(self, node: Node, graph: Graph) -> Step:
        a = node.attrs
        x = graph.tensor(node.inputs[0])
        sv = np.asarray(a["vectors"], F)
        params = {"depth": sv.shape[1], "rows": x.size // sv.shape[1], "kernel": a["kernel"],
                  "gamma": float(np.float32(a["gamma"])), "coef0": float(np.float32(a["coef0"])),
                  "degree": int(a["degree"]), "per_class": tuple(a.get("per_class", ())), "vectors": sv.shape[0],
                  "out_shape": graph.tensor(node.outputs[-1]).shape}
        consts = {"vectors": sv, "coef": np.asarray(a["coef"], F), "rho": np.asarray(a["rho"], F)}
        if len(node.outputs) == 2:
            consts["labels"] = np.asarray(a["labels"], np.int64)
        return Step("ml_svm", node.name, [x.name], list(node.outputs), params, consts, scratch=4 * sv.shape[0])
