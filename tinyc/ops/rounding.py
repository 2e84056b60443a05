"""FLOOR, CEIL, ROUND (float32 only, as in TFLM), in the unary family: IEEE floor and ceil (exact, so TFLM's
bytes), TFLM's RoundToNearest (halves to even); in C with tinyc_floorf, no libm."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._mathf import floorf, roundf
from tinyc.ops._unary import FLOAT32, UnaryOp


@register
class Floor(UnaryOp):
    name = "floor"
    tflite = ("FLOOR",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return floorf(x)


@register
class Ceil(UnaryOp):
    name = "ceil"
    tflite = ("CEIL",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return -floorf(-x)


@register
class Round(UnaryOp):
    name = "round"
    tflite = ("ROUND",)
    dtypes = FLOAT32

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return roundf(x)
