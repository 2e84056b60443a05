"""ONNX-ML (ai.onnx.ml: the classic models skl2onnx writes) -> ir.Graph nodes."""

from __future__ import annotations

CONVERTERS: dict = {}
