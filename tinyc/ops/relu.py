"""A stand-alone clamp activation (ReLU, ReLU6, ReLU-N1-to-1); int8 requantizes as TFLM's ReluQuantized.

Usually fused into the producing conv/fc/add by tinyc.passes; this op remains where fusion is impossible.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import activation_range, multiply_by_quantized_multiplier, quantize_multiplier
from tinyc.ops import OpDef, register
from tinyc.ops._common import activation_of, check_multiplier, check_same, is_int8, output_bounds, quant
from tinyc.ops._float import clamp


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    out = multiply_by_quantized_multiplier(inputs[0].astype(np.int64) - p["in_zp"], p["mult"], p["shift"])
    return [np.clip(out + p["out_zp"], p["act_min"], p["act_max"]).astype(np.int8)]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [clamp(inputs[0], step.params["act_min"], step.params["act_max"])]


@register
class Relu(OpDef):
    name = "relu"
    tflite = ("RELU", "RELU6", "RELU_N1_TO_1")
    kernels = {"relu_s8": run_s8, "relu_f32": run_f32}

    def check(self, node: Node, graph: Graph) -> None:
        activation_of(node)
        check_same(node, graph)
        if is_int8(graph, node):
            qi, qo = quant(graph, node.inputs[0], node), quant(graph, node.outputs[0], node)
            check_multiplier(node, qi.s / qo.s, "requantization multiplier")

    def lower(self, node: Node, graph: Graph) -> Step:
        step = Step("relu_f32", node.name, [node.inputs[0]], [node.outputs[0]], dict(output_bounds(node, graph)),
                    overwrite=(0,))
        if is_int8(graph, node):
            qi, qo = quant(graph, node.inputs[0], node), quant(graph, node.outputs[0], node)
            if activation_of(node) == "relu6":
                # TFLM's Relu6 clamps in the input's quantization and ignores the output's
                lo, hi = activation_range("relu6", qi.s, qi.zp)
                mult, shift, out_zp = 1 << 30, 1, qi.zp  # the identity multiplier
                step.params |= {"act_min": lo, "act_max": hi}
            else:
                mult, shift = quantize_multiplier(qi.s / qo.s)
                out_zp = qo.zp
            step.kernel = "relu_s8"
            step.params |= {"in_zp": qi.zp, "out_zp": out_zp, "mult": mult, "shift": shift,
                            "size": graph.tensor(node.inputs[0]).size}
        return step
