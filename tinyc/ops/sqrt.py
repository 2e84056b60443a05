"""SQRT (float32 only, as in TFLM): IEEE's correctly rounded square root, so the bytes equal TFLM's."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._mathf import sqrtf
from tinyc.ops._unary import FLOAT32, UnaryOp


@register
class Sqrt(UnaryOp):
    name = "sqrt"
    tflite = ("SQRT",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return sqrtf(x)
