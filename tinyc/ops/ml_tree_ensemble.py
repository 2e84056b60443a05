"""ONNX-ML TreeEnsembleClassifier / TreeEnsembleRegressor, as onnxruntime's tree_ensemble_common.h for float32:

Every tree is walked from its root (trees in the order they first appear in the model) until a leaf: at a branch
node the feature x[f] is compared with the float32 threshold (mode LEQ, LT, GTE, GT, EQ or NEQ; a NaN feature goes
to the true child where missing_value_tracks_true is set), then the true or the false child. The leaf's weights are
added to their targets' scores in float32, tree after tree, each leaf's weights in the model's order. Then the
scores are divided by the number of trees (AVERAGE), the base values added, for a classifier the label taken (the
first largest score) and the post-transform applied (tinyc/ops/_ml.py). A binary classifier that scores one
class follows onnxruntime's binary rules (see _binary).

onnxruntime sums more than 80 trees in per-thread parts (its scores then differ in the last bits: up to 9 ulp
with 100 trees, labels equal on 1,040 inputs). The frontend checks that every tree is a tree (each node reached
once from its root), so the walk ends.
Node arrays: modes int8 (0 leaf, 1..6 the comparisons, +8 missing tracks true), features / trues / falses int16
(int32 when an index needs it), thresholds float32; leaf_first[n]..leaf_first[n + 1] index the (target, weight)
pairs of node n.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._float import QUIET
from tinyc.ops._ml import POST_TRANSFORMS, F, first_max, post_transform
from tinyc.ops.ml_linear import ML_DTYPES

MODES = {"LEAF": 0, "BRANCH_LEQ": 1, "BRANCH_LT": 2, "BRANCH_GTE": 3, "BRANCH_GT": 4, "BRANCH_EQ": 5,
         "BRANCH_NEQ": 6}
MISSING_TRUE = 8
ARRAYS = ("modes", "features", "thresholds", "trues", "falses", "leaf_first", "targets", "weights", "roots", "base")
DTYPES = {"modes": np.int8, "thresholds": F, "weights": F, "base": F}  # the others are int32


def index_dtype(values: object) -> type:
    """int16 for index arrays that fit (half the flash of int32), else int32."""
    v = np.asarray(values, np.int64)
    return np.int16 if v.size == 0 or (v.min() >= -(2**15) and v.max() < 2**15) else np.int32


def _compare(mode: np.ndarray, v: np.ndarray, t: np.ndarray) -> np.ndarray:
    with np.errstate(**QUIET):
        tests = [v <= t, v < t, v >= t, v > t, v == t, v != t]
    out = np.zeros(v.shape, bool)
    for m, test in enumerate(tests, start=1):
        out |= (mode == m) & test
    return out


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    c = {k: v.astype(np.int64) if v.dtype.kind in "iu" and k not in ("modes", "labels") else v
         for k, v in step.consts.items()}
    n = inputs[0].shape[0]
    x = np.asarray(inputs[0], F).reshape(-1, p["depth"])
    rows = np.arange(len(x))
    scores = np.zeros((len(x), p["n_out"]), F)
    modes = c["modes"].astype(np.int32)
    with np.errstate(**QUIET):
        for root in c["roots"]:
            node = np.full(len(x), root, np.int64)
            while True:
                mode = modes[node] & 7
                branch = mode != 0
                if not branch.any():
                    break
                v = x[rows, c["features"][node]]
                go = _compare(mode, v, c["thresholds"][node]) | (((modes[node] & MISSING_TRUE) != 0) & np.isnan(v))
                node = np.where(branch, np.where(go, c["trues"][node], c["falses"][node]), node)
            first, last = c["leaf_first"][node], c["leaf_first"][node + 1]
            for k in range(int((last - first).max(initial=0))):
                has = first + k < last
                i = np.where(has, first + k, 0)
                add = np.where(has, c["weights"][i], F(0)).astype(F)
                col = c["targets"][i]
                scores[rows, col] = np.where(has, (scores[rows, col] + add).astype(F), scores[rows, col])
        if p["average"]:
            scores = (scores / F(len(c["roots"]))).astype(F)
        if "base" in c:
            scores = (scores + c["base"]).astype(F)
    if p["binary"]:
        return _binary(p, c["labels"], scores[:, 0], n)
    out = post_transform(scores, p["post"]).reshape((n, *p["out_shape"]))
    if "labels" not in c:
        return [out]
    return [c["labels"][first_max(scores)].reshape((n, p["rows"])), out]


def _binary(p: dict, labels: np.ndarray, s: np.ndarray, n: int) -> list[np.ndarray]:
    """onnxruntime's binary case (one class scored): with every weight >= 0 ("positive") the label is 1 if
    s > 0.5 and the scores [1 - s, s]; otherwise label 1 if s > 0 and the scores [-s, s], or with LOGISTIC
    [logistic(-s), logistic(s)]."""
    threshold = F(0.5) if p["binary"] == "positive" else F(0)
    label = np.where(s > threshold, labels[1], labels[0])
    if p["binary"] == "positive":
        pair = [(F(1) - s).astype(F), s]
    else:
        pair = [post_transform(-s[:, None], p["post"])[:, 0], post_transform(s[:, None], p["post"])[:, 0]]
    return [label.reshape((n, p["rows"])), np.stack(pair, axis=-1).reshape((n, *p["out_shape"]))]


@register
class MlTreeEnsemble(OpDef):
    name = "ml_tree_ensemble"
    outputs = (1, 2)
    kernels = {"ml_tree_ensemble": run}
    dtypes = ML_DTYPES

    def check(self, node: Node, graph: Graph) -> None:
        a = node.attrs
        x = graph.tensor(node.inputs[0])
        expect(x.dtype == "float32" and len(x.shape) == 2, node, "the input must be float32 [rows, features]")
        expect(a["post_transform"] in POST_TRANSFORMS, node, "unknown post_transform")
        nodes = len(a["modes"])
        expect(all(len(a[k]) == nodes for k in ("features", "thresholds", "trues", "falses")), node,
               "node arrays of different lengths")
        expect(len(a["leaf_first"]) == nodes + 1 and len(a["targets"]) == len(a["weights"]) == a["leaf_first"][-1],
               node, "leaf arrays of the wrong size")
        expect(len(a["targets"]) == 0 or 0 <= min(a["targets"]) <= max(a["targets"]) < a["n_out"], node,
               "a leaf target out of range")
        expect(len(a["features"]) == 0 or 0 <= min(a["features"]) <= max(a["features"]) < x.shape[1], node,
               "a feature index out of range")
        if len(node.outputs) == 2:
            expect(len(a["labels"]) == (2 if a.get("binary") else a["n_out"]), node, "one class label per score")
            expect(a.get("binary") in (None, "positive", "mixed") and (not a.get("binary") or a["n_out"] == 1), node,
                   "a binary classifier scores one class")

    def lower(self, node: Node, graph: Graph) -> Step:
        a = node.attrs
        x = graph.tensor(node.inputs[0])
        params = {"depth": x.shape[1], "rows": x.shape[0], "n_out": a["n_out"], "trees": len(a["roots"]),
                  "average": a["average"], "post": a["post_transform"], "binary": a.get("binary"),
                  "out_shape": graph.tensor(node.outputs[-1]).shape}
        consts = {k: np.asarray(a[k], DTYPES.get(k) or index_dtype(a[k])) for k in ARRAYS if a.get(k) is not None}
        if len(node.outputs) == 2:
            consts["labels"] = np.asarray(a["labels"], np.int64)
        return Step("ml_tree_ensemble", node.name, [x.name], list(node.outputs), params, consts)
