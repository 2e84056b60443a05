"""The remaining TFLM builtins as TFLite operators (merged into tflite_ops.CONVERTERS): see
tinyc/frontends/tflite_misc.py for the list."""

from __future__ import annotations

from collections.abc import Callable

from tflite.BuiltinOperator import BuiltinOperator as Op

from tinyc.export.tflite_ops import OpSpec
from tinyc.ir import Graph, Node

PLAIN = {"floor": Op.FLOOR, "ceil": Op.CEIL, "round": Op.ROUND, "sin": Op.SIN, "cos": Op.COS, "square": Op.SQUARE,
         "floor_div": Op.FLOOR_DIV, "floor_mod": Op.FLOOR_MOD, "equal": Op.EQUAL, "not_equal": Op.NOT_EQUAL,
         "greater": Op.GREATER, "greater_equal": Op.GREATER_EQUAL, "less": Op.LESS, "less_equal": Op.LESS_EQUAL,
         "logical_and": Op.LOGICAL_AND, "logical_or": Op.LOGICAL_OR, "logical_not": Op.LOGICAL_NOT}
VERSIONS = {code: (1, 2) for code in PLAIN.values()}


def _plain(builtin: int) -> Callable[[Node, Graph], OpSpec]:
    return lambda node, graph: OpSpec(builtin)


CONVERTERS: dict[str, Callable[[Node, Graph], OpSpec]] = {name: _plain(code) for name, code in PLAIN.items()}
