"""LEAKY_RELU, x > 0 ? x : alpha * x. int8 as TFLM's QuantizeLeakyRelu (one multiplier per sign, computed in
float32 as TFLM writes it); float as TFLM's reference."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Node, Quant
from tinyc.numerics import multiply_by_quantized_multiplier, quantize_multiplier
from tinyc.ops import register
from tinyc.ops._unary import UnaryOp

F = np.float32


@register
class LeakyRelu(UnaryOp):
    name = "leaky_relu"
    tflite = ("LEAKY_RELU",)

    def table_s8(self, x: np.ndarray, qi: Quant, qo: Quant, node: Node) -> np.ndarray:
        alpha = F(node.attrs.get("alpha", 0.2))
        ma, sa = quantize_multiplier(float(F(qi.s) * alpha / F(qo.s)))
        mi, si = quantize_multiplier(float(F(qi.s) / F(qo.s)))
        d = x - qi.zp
        out = np.where(d >= 0, multiply_by_quantized_multiplier(d, mi, si), multiply_by_quantized_multiplier(d, ma, sa))
        return np.clip(out + qo.zp, -128, 127)

    def f32_params(self, node: Node) -> dict:
        return {"alpha": float(F(node.attrs.get("alpha", 0.2)))}

    def f32(self, x: np.ndarray, params: dict) -> np.ndarray:
        return np.where(x > F(0.0), x, x * F(params["alpha"]))
