"""The element-wise IR ops as TFLite builtins (merged into tflite_ops.CONVERTERS): the unary and binary
families (PRELU among them), LOG_SOFTMAX and L2_NORMALIZATION."""

from __future__ import annotations

from collections.abc import Callable

import flatbuffers
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from tinyc.export.tflite_ops import OpSpec, _activation
from tinyc.ir import Graph, Node

PLAIN = {"logistic": Op.LOGISTIC, "tanh": Op.TANH, "hard_swish": Op.HARD_SWISH, "elu": Op.ELU, "exp": Op.EXP,
         "log": Op.LOG, "rsqrt": Op.RSQRT, "sqrt": Op.SQRT, "abs": Op.ABS, "neg": Op.NEG, "maximum": Op.MAXIMUM,
         "minimum": Op.MINIMUM, "squared_difference": Op.SQUARED_DIFFERENCE, "prelu": Op.PRELU,
         "log_softmax": Op.LOG_SOFTMAX}
WITH_ACTIVATION = {
    "mul": (Op.MUL, Opt.MulOptions, tflite.MulOptionsStart, tflite.MulOptionsAddFusedActivationFunction,
            tflite.MulOptionsEnd),
    "sub": (Op.SUB, Opt.SubOptions, tflite.SubOptionsStart, tflite.SubOptionsAddFusedActivationFunction,
            tflite.SubOptionsEnd),
    "div": (Op.DIV, Opt.DivOptions, tflite.DivOptionsStart, tflite.DivOptionsAddFusedActivationFunction,
            tflite.DivOptionsEnd),
    "l2_normalization": (Op.L2_NORMALIZATION, Opt.L2NormOptions, tflite.L2NormOptionsStart,
                         tflite.L2NormOptionsAddFusedActivationFunction, tflite.L2NormOptionsEnd),
}
VERSIONS = {code: (1, 2) for code in PLAIN.values()} | {spec[0]: (1, 2) for spec in WITH_ACTIVATION.values()}
VERSIONS[Op.LEAKY_RELU] = (1, 2)


def _plain(builtin: int) -> Callable[[Node, Graph], OpSpec]:
    return lambda node, graph: OpSpec(builtin)


def _with_activation(builtin: int, options_type: int, start, add, end) -> Callable[[Node, Graph], OpSpec]:  # noqa: ANN001
    def convert(node: Node, graph: Graph) -> OpSpec:
        act = _activation(node)

        def options(b: flatbuffers.Builder) -> int:
            start(b)
            add(b, act)
            return end(b)

        return OpSpec(builtin, options_type, options)
    return convert


def _leaky_relu(node: Node, graph: Graph) -> OpSpec:
    alpha = float(node.attrs.get("alpha", 0.2))

    def options(b: flatbuffers.Builder) -> int:
        tflite.LeakyReluOptionsStart(b)
        tflite.LeakyReluOptionsAddAlpha(b, alpha)
        return tflite.LeakyReluOptionsEnd(b)

    return OpSpec(Op.LEAKY_RELU, Opt.LeakyReluOptions, options)


CONVERTERS = {name: _plain(code) for name, code in PLAIN.items()}
CONVERTERS |= {name: _with_activation(*spec) for name, spec in WITH_ACTIVATION.items()}
CONVERTERS["leaky_relu"] = _leaky_relu
