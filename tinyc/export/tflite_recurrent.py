"""UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF as TFLite builtins: options, and the variable (state) tensors that the
frontend took into the node's attributes (tinyc.frontends.tflite `_variable`) put back at their input slots."""

from __future__ import annotations

import flatbuffers
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from tinyc.ir import Graph, Node, Quant, Tensor

VERSIONS = {Op.UNIDIRECTIONAL_SEQUENCE_LSTM: (1, 3), Op.SVDF: (1, 3)}
SVDF_ACTIVATIONS = {"none": tflite.ActivationFunctionType.NONE, "relu": tflite.ActivationFunctionType.RELU,
                    "relu6": tflite.ActivationFunctionType.RELU6,
                    "relu_n1_to_1": tflite.ActivationFunctionType.RELU_N1_TO_1}


def _variable(node: Node, key: str) -> Tensor:
    info = node.attrs[key]
    quant = Quant([info["scale"]], [info["zero_point"]]) if info["scale"] is not None else None
    return Tensor(f"{node.name}/{key}", tuple(info["shape"]), info["dtype"], quant)


def _lstm(node: Node, graph: Graph):  # noqa: ANN202
    from tinyc.export.tflite_ops import OpSpec

    a = node.attrs

    def options(b: flatbuffers.Builder) -> int:
        tflite.UnidirectionalSequenceLSTMOptionsStart(b)
        tflite.UnidirectionalSequenceLSTMOptionsAddFusedActivationFunction(b, tflite.ActivationFunctionType.TANH)
        tflite.UnidirectionalSequenceLSTMOptionsAddCellClip(b, float(a.get("cell_clip", 0.0)))
        tflite.UnidirectionalSequenceLSTMOptionsAddProjClip(b, float(a.get("proj_clip", 0.0)))
        tflite.UnidirectionalSequenceLSTMOptionsAddTimeMajor(b, bool(a.get("time_major", False)))
        tflite.UnidirectionalSequenceLSTMOptionsAddAsymmetricQuantizeInputs(
            b, bool(a.get("asymmetric_quantize_inputs", False)))
        return tflite.UnidirectionalSequenceLSTMOptionsEnd(b)

    return OpSpec(Op.UNIDIRECTIONAL_SEQUENCE_LSTM, Opt.UnidirectionalSequenceLSTMOptions, options,
                  variables={18: _variable(node, "output_state"), 19: _variable(node, "cell_state")})


def _svdf(node: Node, graph: Graph):  # noqa: ANN202
    from tinyc.export.tflite_ops import OpSpec

    a = node.attrs

    def options(b: flatbuffers.Builder) -> int:
        tflite.SVDFOptionsStart(b)
        tflite.SVDFOptionsAddRank(b, int(a["rank"]))
        tflite.SVDFOptionsAddFusedActivationFunction(b, SVDF_ACTIVATIONS[a.get("activation", "none")])
        tflite.SVDFOptionsAddAsymmetricQuantizeInputs(b, bool(a.get("asymmetric_quantize_inputs", False)))
        return tflite.SVDFOptionsEnd(b)

    return OpSpec(Op.SVDF, Opt.SVDFOptions, options, variables={4: _variable(node, "activation_state")})


CONVERTERS = {"unidirectional_sequence_lstm": _lstm, "svdf": _svdf}
