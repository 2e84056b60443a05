"""Fully connected: y[r, o] = sum_k x[r, k] * w[o, k] + b[o]; input rows of length K (the weights' width).

int8 follows TFLM's FullyConnected; like conv2d, the input zero point is folded into the bias.
"""

from __future__ import annotations

import numpy as np

from tinyc._kernels import float_kernels as _float
from tinyc._kernels import fully_connected as _fc
from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import check_weighted, is_int8, quant, tflm_output_bounds
from tinyc.ops._int16 import WITH_INT16, check_s16, lower_s16, run_fully_connected_s16
from tinyc.ops.conv2d import check_weights_symmetric, float_bias, folded_bias, per_channel_requant
from tinyc.ops.sparse_weights import as_dense, sparsify


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    n = inputs[0].shape[0]
    x = np.ascontiguousarray(inputs[0].reshape(-1, p["depth"]))
    out = _fc.fully_connected_s8(x, c["weights"], c["bias"], c["mult"], c["shift"], p["out_zp"],
                                 p["act_min"], p["act_max"])
    return [out.reshape((n,) + tuple(p["out_shape"]))]


def run_sparse_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    return run_s8(as_dense(step), inputs)


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """float32 accumulation in the generated C's order (k), then + bias, then the clamp: the C's bits."""
    p, c = step.params, step.consts
    n = inputs[0].shape[0]
    x = np.ascontiguousarray(inputs[0].reshape(-1, p["depth"]), np.float32)
    out = _float.fully_connected_f32(x, c["weights"], c["bias"], p["act_min"], p["act_max"])
    return [out.reshape((n,) + tuple(p["out_shape"]))]


@register
class FullyConnected(OpDef):
    name = "fully_connected"
    tflite = ("FULLY_CONNECTED",)
    arity = (2, 3)
    kernels = {"fully_connected_s8": run_s8, "fully_connected_sparse_s8": run_sparse_s8,
               "fully_connected_f32": run_f32, "fully_connected_s16": run_fully_connected_s16}
    dtypes = WITH_INT16

    def check(self, node: Node, graph: Graph) -> None:
        x, w, y = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
        expect(w.is_const and len(w.shape) == 2, node, "weights must be a constant [out, in] matrix")
        expect(x.size % w.shape[1] == 0, node, f"input of {x.size} values is not rows of {w.shape[1]}")
        expect(y.size == x.size // w.shape[1] * w.shape[0], node,
               f"output shape {list(y.shape)} does not hold {x.size // w.shape[1]} rows of {w.shape[0]}")
        if x.dtype == "int16":
            check_s16(node, graph, w.shape[0], 0, int32_bias=True)
            return
        expect(x.dtype == "int8" or w.dtype == "float32", node, "float activations need float32 weights")
        check_weighted(node, graph, w.shape[0], 0)

    def macs(self, node: Node, graph: Graph) -> int:
        return graph.tensor(node.inputs[0]).size * graph.tensor(node.inputs[1]).shape[0]

    def lower(self, node: Node, graph: Graph) -> Step:
        w = graph.tensor(node.inputs[1])
        n_out, depth = w.shape
        params = {"depth": depth, "units": n_out, "rows": graph.tensor(node.inputs[0]).size // depth,
                  "out_shape": graph.tensor(node.outputs[0]).shape} | tflm_output_bounds(node, graph)
        step = Step("", node.name, [node.inputs[0]], [node.outputs[0]], params, macs=self.macs(node, graph))
        if graph.tensor(node.inputs[0]).dtype == "int16":
            lower_s16(step, graph, node, w.data, 0, *per_channel_requant(graph, node, n_out))
        elif is_int8(graph, node):
            check_weights_symmetric(graph, node)
            mult, shift = per_channel_requant(graph, node, n_out)
            step.kernel = "fully_connected_s8"
            step.params |= {"in_zp": quant(graph, node.inputs[0], node).zp,
                            "out_zp": quant(graph, node.outputs[0], node).zp}
            step.consts = {"weights": w.data, "bias": folded_bias(graph, node, w.data, 0),
                           "mult": mult, "shift": shift}
            sparsify(step, "fully_connected_sparse_s8")  # pruned weights: a compact encoding, zeros skipped
        else:
            step.kernel = "fully_connected_f32"
            step.consts = {"weights": w.data.astype(np.float32), "bias": float_bias(graph, node, n_out)}
        return step
