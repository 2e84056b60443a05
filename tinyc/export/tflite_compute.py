"""TRANSPOSE_CONV and BATCH_MATMUL as TFLite builtins (merged into tflite_ops.CONVERTERS)."""

from __future__ import annotations

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from tinyc.ir import Graph, Node, Tensor

VERSIONS = {Op.TRANSPOSE_CONV: (1, 3), Op.BATCH_MATMUL: (1, 4)}
PADDINGS = {"same": tflite.Padding.SAME, "valid": tflite.Padding.VALID}


def _transpose_conv(node: Node, graph: Graph):  # noqa: ANN202
    from tinyc.export.tflite_ops import OpSpec, _activation

    sh, sw = node.attrs.get("stride", (1, 1))
    padding, act = PADDINGS[node.attrs["padding"]], _activation(node)
    y = graph.tensor(node.outputs[0])
    shape = Tensor(graph.unique_name(f"{node.outputs[0]}/output_shape"), (4,), "int32",
                   data=np.array(y.shape, np.int32))

    def options(b: flatbuffers.Builder) -> int:
        tflite.TransposeConvOptionsStart(b)
        tflite.TransposeConvOptionsAddPadding(b, padding)
        tflite.TransposeConvOptionsAddStrideH(b, sh)
        tflite.TransposeConvOptionsAddStrideW(b, sw)
        tflite.TransposeConvOptionsAddFusedActivationFunction(b, act)
        return tflite.TransposeConvOptionsEnd(b)

    # written (output shape, input, weights[, bias]) -> TFLite's (output shape, weights, input[, bias])
    order = (0, 2, 1) + tuple(range(3, len(node.inputs) + 1))
    return OpSpec(Op.TRANSPOSE_CONV, Opt.TransposeConvOptions, options, leading_inputs=[shape], order=order)


def _batch_matmul(node: Node, graph: Graph):  # noqa: ANN202
    from tinyc.export.tflite_ops import OpSpec

    adj_x, adj_y = bool(node.attrs.get("adj_x")), bool(node.attrs.get("adj_y"))

    def options(b: flatbuffers.Builder) -> int:
        tflite.BatchMatMulOptionsStart(b)
        tflite.BatchMatMulOptionsAddAdjX(b, adj_x)
        tflite.BatchMatMulOptionsAddAdjY(b, adj_y)
        return tflite.BatchMatMulOptionsEnd(b)

    return OpSpec(Op.BATCH_MATMUL, Opt.BatchMatMulOptions, options)


CONVERTERS = {"transpose_conv": _transpose_conv, "batch_matmul": _batch_matmul}
