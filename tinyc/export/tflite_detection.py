"""detection_postprocess as TFLite's CUSTOM operator TFLite_Detection_PostProcess with its flexbuffer options (the
inverse of tinyc.frontends.tflite_detection), so single-op models of it run on TFLM."""

from __future__ import annotations

from flatbuffers import flexbuffers
from tflite.BuiltinOperator import BuiltinOperator as Op

from tinyc.frontends.tflite_detection import BOOL, CUSTOM_CODE, FLOAT, KINDS
from tinyc.ir import Graph, Node


def _spec(node: Node, graph: Graph):  # noqa: ANN202
    from tinyc.export.tflite_ops import OpSpec

    kinds = {BOOL: bool, FLOAT: float}
    options = {k: kinds.get(kind, int)(node.attrs[k]) for k, kind in KINDS.items() if k in node.attrs}
    return OpSpec(Op.CUSTOM, custom_code=CUSTOM_CODE, custom_options=bytes(flexbuffers.Dumps(options)))


CONVERTERS = {"detection_postprocess": _spec}
