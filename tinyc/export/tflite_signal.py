"""TFLM's signal ops as TFLite CUSTOM operators: custom code and flexbuffer options (the inverse of
tinyc.frontends.tflite_signal), so single-op models of them run on TFLM."""

from __future__ import annotations

from flatbuffers import flexbuffers
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.TensorType import TensorType

from tinyc.frontends.tflite_signal import BOOL, SIGNAL_OPS
from tinyc.ir import Graph, Node

VERSIONS = {Op.CUSTOM: (1, 1)}
RFFT_TYPES = {"int16": TensorType.INT16, "int32": TensorType.INT32, "float32": TensorType.FLOAT32}


def _spec(custom: str):  # noqa: ANN202
    from tinyc.export.tflite_ops import OpSpec

    keys = SIGNAL_OPS[custom][1]

    def convert(node: Node, graph: Graph) -> OpSpec:
        a = dict(node.attrs)
        if "T" in keys:
            a["T"] = RFFT_TYPES[a.pop("dtype")]
        options = {k: bool(a[k]) if kind == BOOL else int(a[k]) for k, kind in keys.items()}
        return OpSpec(Op.CUSTOM, custom_code=custom, custom_options=bytes(flexbuffers.Dumps(options)) if keys else b"")
    return convert


CONVERTERS = {ir_op: _spec(custom) for custom, (ir_op, _) in SIGNAL_OPS.items()}
