"""TFLite converters of the element-wise ops (merged into tflite.CONVERTERS): the unary and binary families
(PRELU among them), LOG_SOFTMAX and L2_NORMALIZATION."""

from __future__ import annotations

import tflite

PLAIN = {"LOGISTIC": "logistic", "TANH": "tanh", "HARD_SWISH": "hard_swish", "ELU": "elu", "EXP": "exp",
         "LOG": "log", "RSQRT": "rsqrt", "SQRT": "sqrt", "ABS": "abs", "NEG": "neg", "MAXIMUM": "maximum",
         "MINIMUM": "minimum", "SQUARED_DIFFERENCE": "squared_difference", "PRELU": "prelu",
         "LOG_SOFTMAX": "log_softmax"}
WITH_ACTIVATION = {"MUL": ("mul", tflite.MulOptions), "SUB": ("sub", tflite.SubOptions),
                   "DIV": ("div", tflite.DivOptions), "L2_NORMALIZATION": ("l2_normalization", tflite.L2NormOptions)}


def _plain(ir_op: str):  # noqa: ANN202
    return lambda r, op, ins: (ir_op, {})


def _with_activation(ir_op: str, options):  # noqa: ANN001, ANN202
    def convert(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
        from tinyc.frontends.tflite import _activation

        o, present = r.options(op, options)
        return ir_op, {"activation": _activation(o.FusedActivationFunction()) if present else "none"}
    return convert


def _leaky_relu(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, present = r.options(op, tflite.LeakyReluOptions)
    return "leaky_relu", {"alpha": float(o.Alpha()) if present else 0.0}


CONVERTERS = {name: _plain(ir_op) for name, ir_op in PLAIN.items()}
CONVERTERS |= {name: _with_activation(ir_op, options) for name, (ir_op, options) in WITH_ACTIVATION.items()}
CONVERTERS["LEAKY_RELU"] = _leaky_relu
