"""SQUARE (float32 only, as in TFLM): x * x, one IEEE product, TFLM's bytes."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._unary import FLOAT32, UnaryOp


@register
class Square(UnaryOp):
    name = "square"
    tflite = ("SQUARE",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return x * x
