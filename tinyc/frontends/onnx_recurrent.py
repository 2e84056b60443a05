"""ONNX recurrent layers (LSTM, GRU) -> ir.Graph nodes."""

from __future__ import annotations

CONVERTERS: dict = {}
