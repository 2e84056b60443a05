"""TFLite converters of TRANSPOSE_CONV and BATCH_MATMUL (merged into tflite.CONVERTERS), and the refusal of
resource variables."""

from __future__ import annotations

from pathlib import Path

import tflite
from tflite.BuiltinOperator import BuiltinOperator

from tinyc.errors import ModelError, UnsupportedOpError

# Resource variables and the CALL_ONCE that initialises them: no kernels yet
RESOURCE_OPS = {BuiltinOperator.VAR_HANDLE: "VAR_HANDLE", BuiltinOperator.READ_VARIABLE: "READ_VARIABLE",
                BuiltinOperator.ASSIGN_VARIABLE: "ASSIGN_VARIABLE", BuiltinOperator.CALL_ONCE: "CALL_ONCE"}


def refuse_resource_variables(model: tflite.Model, size: int, path: Path) -> None:
    """UnsupportedOpError naming the first resource-variable operator of the main subgraph, before the
    frontend trips over what comes with them (RESOURCE tensors, CALL_ONCE's initialisation subgraph)."""
    if model.SubgraphsLength() < 1 or model.OperatorCodesLength() * 4 > size:
        return
    sub = model.Subgraphs(0)
    if sub.OperatorsLength() * 4 > size:
        return  # a corrupt length: reported by the reader
    for k in range(sub.OperatorsLength()):
        index = sub.Operators(k).OpcodeIndex()
        if not 0 <= index < model.OperatorCodesLength():
            return
        code = model.OperatorCodes(index)
        name = RESOURCE_OPS.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        if name is not None:
            raise UnsupportedOpError(name, f"{name.lower()}_{k}", str(path))

PADDINGS = {tflite.Padding.SAME: "same", tflite.Padding.VALID: "valid"}


def _transpose_conv(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    """TFLite's inputs (output shape, weights, input, bias) become (input, weights, bias); the output shape
    operand must be a constant (TFLM takes the output tensor's shape)."""
    from tinyc.frontends.tflite import _activation

    o, present = r.options(op, tflite.TransposeConvOptions)
    shape = r.g.tensor(ins[0]) if ins and ins[0] else None
    if shape is None or not shape.is_const or len(ins) not in (3, 4):
        raise ModelError(f"{r.path}: TRANSPOSE_CONV needs a constant output shape and 3 or 4 inputs")
    if present and o.Padding() not in PADDINGS:
        raise ModelError(f"{r.path}: TRANSPOSE_CONV with padding {o.Padding()} is not supported")
    ins[:] = [ins[2], ins[1]] + ins[3:]
    return "transpose_conv", {"stride": (o.StrideH(), o.StrideW()) if present else (1, 1),
                              "padding": PADDINGS[o.Padding()] if present else "same",
                              "activation": _activation(o.FusedActivationFunction()) if present else "none"}


def _batch_matmul(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, present = r.options(op, tflite.BatchMatMulOptions)
    return "batch_matmul", {"adj_x": bool(o.AdjX()) if present else False,
                            "adj_y": bool(o.AdjY()) if present else False}


CONVERTERS = {"TRANSPOSE_CONV": _transpose_conv, "BATCH_MATMUL": _batch_matmul}
