"""NEG (float32 only, as in TFLM): the sign flipped."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._unary import FLOAT32, UnaryOp


@register
class Neg(UnaryOp):
    name = "neg"
    tflite = ("NEG",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return -x
