"""TFLite converters of the remaining builtins TFLM registers (merged into tflite.CONVERTERS): rounding and
trigonometry, comparisons and logical ops, FLOOR_DIV / FLOOR_MOD, SELECT_V2, ADD_N, CUMSUM, REVERSE_V2, the
batch/space block ops and the index-driven gathers."""

from __future__ import annotations

import tflite

from tinyc.frontends.tflite_data import const_operand, ints

PLAIN = {"FLOOR": "floor", "CEIL": "ceil", "ROUND": "round", "SIN": "sin", "COS": "cos", "SQUARE": "square",
         "FLOOR_DIV": "floor_div", "FLOOR_MOD": "floor_mod", "EQUAL": "equal", "NOT_EQUAL": "not_equal",
         "GREATER": "greater", "GREATER_EQUAL": "greater_equal", "LESS": "less", "LESS_EQUAL": "less_equal",
         "LOGICAL_AND": "logical_and", "LOGICAL_OR": "logical_or", "LOGICAL_NOT": "logical_not",
         "SELECT_V2": "select_v2", "GATHER_ND": "gather_nd", "EMBEDDING_LOOKUP": "embedding_lookup",
         "DYNAMIC_UPDATE_SLICE": "dynamic_update_slice"}


def _plain(ir_op: str):  # noqa: ANN202
    return lambda r, op, ins: (ir_op, {})


CONVERTERS = {name: _plain(ir_op) for name, ir_op in PLAIN.items()}


def _reverse_v2(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    axes = ints(const_operand(r, "REVERSE_V2", ins, 1, "axis"))
    del ins[1:]
    return "reverse_v2", {"axes": axes}


def _space_batch(ir_op: str, key: str):  # noqa: ANN202
    def convert(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
        name = ir_op.upper()
        block = ints(const_operand(r, name, ins, 1, "block_shape"))
        pads = const_operand(r, name, ins, 2, key)
        del ins[1:]
        return ir_op, {"block_shape": block, key: tuple((int(a), int(b)) for a, b in pads.reshape(-1, 2))}
    return convert


def _cumsum(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, present = r.options(op, tflite.CumsumOptions)
    axis = ints(const_operand(r, "CUMSUM", ins, 1, "axis"))
    del ins[1:]
    return "cumsum", {"axis": axis[0], "exclusive": bool(o.Exclusive()) if present else False,
                      "reverse": bool(o.Reverse()) if present else False}


CONVERTERS |= {"REVERSE_V2": _reverse_v2, "ADD_N": _plain("add_n"),
               "BROADCAST_ARGS": _plain("broadcast_args"), "CUMSUM": _cumsum,
               "SPACE_TO_BATCH_ND": _space_batch("space_to_batch_nd", "pads"),
               "BATCH_TO_SPACE_ND": _space_batch("batch_to_space_nd", "crops")}
