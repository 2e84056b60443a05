"""The remaining TFLM builtins as TFLite operators (merged into tflite_ops.CONVERTERS): see
tinyc/frontends/tflite_misc.py for the list."""

from __future__ import annotations

from collections.abc import Callable

import flatbuffers
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from tinyc.export.tflite_data import _ints
from tinyc.export.tflite_ops import OpSpec
from tinyc.ir import Graph, Node

PLAIN = {"floor": Op.FLOOR, "ceil": Op.CEIL, "round": Op.ROUND, "sin": Op.SIN, "cos": Op.COS, "square": Op.SQUARE,
         "floor_div": Op.FLOOR_DIV, "floor_mod": Op.FLOOR_MOD, "equal": Op.EQUAL, "not_equal": Op.NOT_EQUAL,
         "greater": Op.GREATER, "greater_equal": Op.GREATER_EQUAL, "less": Op.LESS, "less_equal": Op.LESS_EQUAL,
         "logical_and": Op.LOGICAL_AND, "logical_or": Op.LOGICAL_OR, "logical_not": Op.LOGICAL_NOT,
         "select_v2": Op.SELECT_V2, "gather_nd": Op.GATHER_ND, "embedding_lookup": Op.EMBEDDING_LOOKUP,
         "dynamic_update_slice": Op.DYNAMIC_UPDATE_SLICE}
VERSIONS = {code: (1, 2) for code in PLAIN.values()}


def _plain(builtin: int) -> Callable[[Node, Graph], OpSpec]:
    return lambda node, graph: OpSpec(builtin)


CONVERTERS: dict[str, Callable[[Node, Graph], OpSpec]] = {name: _plain(code) for name, code in PLAIN.items()}


def _reverse_v2(node: Node, graph: Graph) -> OpSpec:
    return OpSpec(Op.REVERSE_V2, extra_inputs=[_ints(graph, node, "axis", node.attrs["axes"])])


def _space_batch(builtin: int, key: str) -> Callable[[Node, Graph], OpSpec]:
    def convert(node: Node, graph: Graph) -> OpSpec:
        pads = [list(p) for p in node.attrs[key]]
        return OpSpec(builtin, extra_inputs=[_ints(graph, node, "block_shape", node.attrs["block_shape"]),
                                             _ints(graph, node, key, pads, (len(pads), 2))])
    return convert


def _cumsum(node: Node, graph: Graph) -> OpSpec:
    def options(b: flatbuffers.Builder) -> int:
        tflite.CumsumOptionsStart(b)
        tflite.CumsumOptionsAddExclusive(b, bool(node.attrs.get("exclusive", False)))
        tflite.CumsumOptionsAddReverse(b, bool(node.attrs.get("reverse", False)))
        return tflite.CumsumOptionsEnd(b)

    return OpSpec(Op.CUMSUM, Opt.CumsumOptions, options, [_ints(graph, node, "axis", [node.attrs["axis"]])])


CONVERTERS |= {"reverse_v2": _reverse_v2, "add_n": _plain(Op.ADD_N),
               "broadcast_args": _plain(Op.BROADCAST_ARGS), "cumsum": _cumsum,
               "space_to_batch_nd": _space_batch(Op.SPACE_TO_BATCH_ND, "pads"),
               "batch_to_space_nd": _space_batch(Op.BATCH_TO_SPACE_ND, "crops")}
VERSIONS |= {Op.ADD_N: (1, 1), Op.BROADCAST_ARGS: (1, 1), Op.CUMSUM: (1, 1), Op.REVERSE_V2: (1, 2),
             Op.SPACE_TO_BATCH_ND: (1, 2), Op.BATCH_TO_SPACE_ND: (1, 2)}
