"""DIV, a / b with fused activation: float32 (IEEE division, TFLM's bytes) and int32 (C's truncating division;
TFLM faults on a zero divisor, tinyc gives 0 there and INT32_MIN for INT32_MIN / -1). int8 DIV is not
supported yet."""

from __future__ import annotations

import numpy as np

from tinyc.ops import register
from tinyc.ops._binary import BinaryOp


@register
class Div(BinaryOp):
    name = "div"
    dtypes = frozenset({("float32", "float32"), ("int32", "int32")})

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a / b

    def i32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        q = np.abs(a) // np.where(b == 0, 1, np.abs(b))
        return np.where(b == 0, 0, np.where((a < 0) != (b < 0), -q, q))
