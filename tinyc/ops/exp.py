"""EXP (float32 only, as in TFLM) with tinyc's expf (TFLM calls std::exp)."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._mathf import expf
from tinyc.ops._unary import FLOAT32, UnaryOp


@register
class Exp(UnaryOp):
    name = "exp"
    tflite = ("EXP",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return expf(x)
