"""SignalFilterBankLog: fixed-point natural log of uint32 channels, scaled and saturated to int16.

As signal/src/filter_bank_log.cc and log.cc: the input is shifted left by input_correction_bits (wrapping in
uint32); values 0 and 1 give 0; Log32 interpolates log2 in a 129-entry table and scales by output_scale.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import INT32, int_attr, tensor_is
from tinyc.ops.signal._fixed import LOG_LUT, U32, log32


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    scaled = (inputs[0].astype(np.uint64) << np.uint64(p["correction_bits"])) & U32
    log = log32(np.maximum(scaled, 2), p["output_scale"])
    return [np.where(scaled > 1, np.minimum(log, 32767), 0).astype(np.int16)]


@register
class SignalFilterBankLog(OpDef):
    name = "signal_filter_bank_log"
    tflite = ("SignalFilterBankLog",)
    kernels = {"signal_filter_bank_log": run}
    dtypes = frozenset({("uint32", "int16")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        tensor_is(graph, node, x.name, "uint32", rank=1, what="the input")
        tensor_is(graph, node, y.name, "int16", rank=1, what="the output")
        expect(y.size == x.size, node, f"{x.size} inputs but {y.size} outputs")
        int_attr(node, "input_correction_bits", 0, 31)
        int_attr(node, "output_scale", *INT32)

    def lower(self, node: Node, graph: Graph) -> Step:
        return Step("signal_filter_bank_log", node.name, [node.inputs[0]], [node.outputs[0]],
                    {"correction_bits": int(node.attrs["input_correction_bits"]),
                     "output_scale": int(node.attrs["output_scale"]) & 0xFFFFFFFF,
                     "size": graph.tensor(node.inputs[0]).size},
                    {"log_lut": np.array(LOG_LUT, dtype=np.int16)})
