"""LOG (float32 only, as in TFLM) with tinyc's logf (TFLM calls std::log)."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._mathf import logf
from tinyc.ops._unary import FLOAT32, UnaryOp


@register
class Log(UnaryOp):
    name = "log"
    tflite = ("LOG",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return logf(x)
