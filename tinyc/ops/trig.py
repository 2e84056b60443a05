"""SIN, COS (float32 only, as in TFLM) in the unary family, with tinyc's deterministic Cephes sinf/cosf
(tinyc/ops/_mathf.py, tinyc_sincosf in C) where TFLM calls libm: tests/test_misc_ops.py measures the distance."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._mathf import cosf, sinf
from tinyc.ops._unary import FLOAT32, UnaryOp


@register
class Sin(UnaryOp):
    name = "sin"
    tflite = ("SIN",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return sinf(x)


@register
class Cos(UnaryOp):
    name = "cos"
    tflite = ("COS",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return cosf(x)
