"""MINIMUM, element-wise min as TFLM's MaximumMinimumBroadcastSlow: the raw values compared (int8 ignores the
quantization, as TFLM does)."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._binary import WITH_INT32, BinaryOp


@register
class Minimum(BinaryOp):
    name = "minimum"
    tflite = ("MINIMUM",)
    dtypes = WITH_INT32
    fused_activation = False

    def s8(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        return np.minimum(a + p["a_zp"], b + p["b_zp"]) - p["out_zp"]

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(a < b, a, b)

    def i32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.minimum(a, b)
