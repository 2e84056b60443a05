"""FLOOR_DIV and FLOOR_MOD (float32 only, as TFLM registers them) in the binary family.

FLOOR_DIV is TFLM's floor(double(a) / double(b)) rounded to float; FLOOR_MOD its fmod(a, b) (exact), moved
to the divisor's sign by adding b. TFLM stops with an error on a zero divisor; tinyc gives the IEEE values
(inf or NaN) there."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._binary import BinaryOp

FLOAT32 = frozenset({("float32", "float32")})


@register
class FloorDiv(BinaryOp):
    name = "floor_div"
    tflite = ("FLOOR_DIV",)
    dtypes = FLOAT32
    fused_activation = False

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.floor(a.astype(np.float64) / b.astype(np.float64)).astype(np.float32)


@register
class FloorMod(BinaryOp):
    name = "floor_mod"
    tflite = ("FLOOR_MOD",)
    dtypes = FLOAT32
    fused_activation = False

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        r = np.fmod(a, b)
        return np.where((r != 0) & ((b < 0) != (r < 0)), r + b, r).astype(np.float32)
