"""ELU, x < 0 ? exp(x) - 1 : x. int8 as TFLM: a table TFLM itself fills in float32 at Prepare with libm's expf,
so tinyc fills it the same way at compile time (the C holds only the table); float with tinyc's expm1f (TFLM
calls std::expm1)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import numpy as np

from tinyc.errors import TinycError
from tinyc.ir import Node, Quant
from tinyc.ops import register
from tinyc.ops._mathf import expm1f
from tinyc.ops._unary import UnaryOp

F = np.float32


@functools.cache
def libm_expf() -> ctypes._CFuncPtr:
    name = ctypes.util.find_library("m")
    if name is None:
        raise TinycError("ELU int8 needs the C library's expf at compile time (as TFLM fills its table)")
    fn = ctypes.CDLL(name).expf
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return fn


def float_lut(x: np.ndarray, qi: Quant, qo: Quant, transform: np.ndarray) -> np.ndarray:
    """TFLM's PopulateLookupTable after the transform: round(t / s_out) + zp in float32, truncated, clamped."""
    inverse = F(1.0) / F(qo.s)
    scaled = transform * inverse
    whole = np.trunc(scaled)
    rounded = np.where(np.abs(scaled - whole) >= F(0.5), whole + np.sign(scaled), whole).astype(F)  # std::round
    return np.trunc((rounded + F(qo.zp)).astype(F)).astype(np.int64)


@register
class Elu(UnaryOp):
    name = "elu"
    tflite = ("ELU",)

    def table_s8(self, x: np.ndarray, qi: Quant, qo: Quant, node: Node) -> np.ndarray:
        expf = libm_expf()
        deq = F(qi.s) * (x - qi.zp).astype(F)
        t = np.array([F(expf(float(v))) - F(1.0) if v < 0 else v for v in deq], F)
        return float_lut(x, qi, qo, t)

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return np.where(x < F(0.0), expm1f(x), x)
