"""Quantized ONNX (QuantizeLinear / DequantizeLinear and the QLinear* operator form) -> int8 ir.Graph nodes."""

from __future__ import annotations

CONVERTERS: dict = {}
