"""Model files -> ir.Graph. The format is chosen by the file's contents, not trusted from its name."""

from __future__ import annotations

from pathlib import Path

from tinyc.errors import ModelError
from tinyc.ir import Graph


def load_model(path: str | Path) -> Graph:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    head = path.open("rb").read(8)
    if head[4:8] == b"TFL3":
        from tinyc.frontends.tflite import load_tflite

        return load_tflite(path)
    if path.suffix in (".pt2", ".pt", ".pth"):  # zip archives too: told apart by name, then checked by torch
        from tinyc.frontends.torch import load_torch_file

        return load_torch_file(path)
    if path.suffix == ".onnx":
        from tinyc.frontends.onnx import load_onnx

        return load_onnx(path)
    raise ModelError(f"{path}: unknown model format (expected .tflite, .onnx or .pt2)")
