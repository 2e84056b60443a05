"""Steps the ONNX-ML kernels share (ml_linear, ml_svm, ml_tree_ensemble), written as the C templates write them
(codegen/templates/_ml.j2), so the reference runtime and the generated C agree to the bit:

- the label is the first class of the largest raw score (`if (s[c] > s[best]) best = c`, NaN never wins), as
  onnxruntime's std::max_element, taken before the post-transform;
- post-transforms as onnxruntime's ml_common.h: LOGISTIC 1 / (1 + exp(-|v|)), mirrored for v < 0; SOFTMAX the
  largest value (from -FLT_MAX) subtracted, exp, the sum in class order, each value divided by it. exp is
  tinyc_expf (within an ulp of std::exp).
"""

from __future__ import annotations

import numpy as np

from tinyc.ops._float import QUIET
from tinyc.ops._mathf import expf

F = np.float32
POST_TRANSFORMS = ("NONE", "LOGISTIC", "SOFTMAX")
FLT_MAX = F(np.finfo(np.float32).max)


def first_max(scores: np.ndarray) -> np.ndarray:
    """Index of the first largest value along the last axis, NaN never taken (C: if (v > best))."""
    best = np.zeros(scores.shape[:-1], np.int64)
    value = scores[..., 0]
    for c in range(1, scores.shape[-1]):
        better = scores[..., c] > value
        best = np.where(better, c, best)
        value = np.where(better, scores[..., c], value)
    return best


def post_transform(scores: np.ndarray, kind: str) -> np.ndarray:
    """`kind` applied to float32 scores [..., classes] in the C's order."""
    s = np.asarray(scores, F)
    with np.errstate(**QUIET):
        if kind == "LOGISTIC":
            v = (F(1) / (F(1) + expf(-np.abs(s)))).astype(F)
            return np.where(s < 0, (F(1) - v).astype(F), v).astype(F)
        if kind == "SOFTMAX":
            m = np.full(s.shape[:-1], -FLT_MAX, F)
            for c in range(s.shape[-1]):
                m = np.where(s[..., c] > m, s[..., c], m)
            e = expf((s - m[..., None]).astype(F))
            total = np.zeros(s.shape[:-1], F)
            for c in range(s.shape[-1]):
                total = (total + e[..., c]).astype(F)
            return (e / total[..., None]).astype(F)
    return s
