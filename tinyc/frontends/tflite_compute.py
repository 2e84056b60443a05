"""TFLite converters of TRANSPOSE_CONV and BATCH_MATMUL (merged into tflite.CONVERTERS)."""

from __future__ import annotations

import tflite

from tinyc.errors import ModelError

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
