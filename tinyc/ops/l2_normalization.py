"""L2_NORMALIZATION over the last axis (at most 4 dimensions, no fused activation), as TFLM's l2norm.cc:

- int8 (output scale 1/128, zero point 0, which TFLite requires; TFLM does not check it but computes for it):
  reference_integer_ops::L2Normalization, the row's int32 sum of squares, GetInvSqrtQuantizedMultiplierExp of
  it (a sum of 0 or 1 gives the multiplier INT32_MAX), each value rescaled by it with 7 more bits.
- float32: the sum of squares in order, sqrt (tinyc_sqrtf and std::sqrt are both correctly rounded), at least
  1e-6, each value divided by it: TFLM's bytes.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.numerics import multiply_by_quantized_multiplier
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import activation_of, quant
from tinyc.ops._float import QUIET, running_sum
from tinyc.ops._gemmlowp import inv_sqrt_multiplier_exp
from tinyc.ops._mathf import sqrtf

OUTPUT_SCALE_BITS = 7  # output scale 2**-7
EPSILON = np.float32(1e-6)
MAX_DEPTH = (2**31 - 1) // 255**2  # the int32 sum of squares cannot overflow


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0].astype(np.int64) - step.params["in_zp"]
    acc = (x * x).sum(axis=-1, keepdims=True)
    values, index = np.unique(acc, return_inverse=True)
    pairs = np.array([inv_sqrt_multiplier_exp(int(v)) for v in values], np.int64).reshape(-1, 2)
    mult, shift = (pairs[:, k][index].reshape(acc.shape) for k in (0, 1))
    out = multiply_by_quantized_multiplier(x, mult, shift + OUTPUT_SCALE_BITS)
    return [np.clip(out, -128, 127).astype(np.int8)]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x = np.asarray(inputs[0], np.float32)
    with np.errstate(**QUIET):
        squared = running_sum([x[..., c] * x[..., c] for c in range(x.shape[-1])])
        norm = sqrtf(squared)
        norm = np.where(norm < EPSILON, EPSILON, norm)[..., None]
        return [(x / norm).astype(np.float32)]


@register
class L2Normalization(OpDef):
    name = "l2_normalization"
    tflite = ("L2_NORMALIZATION",)
    kernels = {"l2_normalization_s8": run_s8, "l2_normalization_f32": run_f32}

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape == y.shape, node, f"output shape {list(y.shape)} differs from input {list(x.shape)}")
        expect(1 <= len(x.shape) <= 4, node, "L2_NORMALIZATION takes 1 to 4 dimensions (TFLM)")
        expect(activation_of(node) == "none", node, "L2_NORMALIZATION takes no fused activation (TFLM)")
        if x.dtype == "int8":
            expect(x.shape[-1] <= MAX_DEPTH, node, f"int8 rows of more than {MAX_DEPTH} values overflow TFLM's sum")
            quant(graph, x.name, node)
            qo = quant(graph, y.name, node)
            expect(qo.zp == 0 and float(np.float32(qo.s)) == 1 / 128, node,
                   f"int8 output must have scale 1/128, zero point 0 (TFLite), got scale {qo.s:g}, zero point {qo.zp}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        params: dict = {"depth": x.shape[-1], "rows": x.size // x.shape[-1]}
        if x.dtype == "float32":
            return Step("l2_normalization_f32", node.name, [x.name], [y.name], params)
        params["in_zp"] = quant(graph, x.name, node).zp
        return Step("l2_normalization_s8", node.name, [x.name], [y.name], params)
