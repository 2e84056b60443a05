"""SVDF as TFLM's kernel (svdf_common.cc): a rank-`rank` factorised fully connected layer over time.

Per invocation, for each filter f (F = units * rank): the activation state's row f (`memory` values) shifts left
by one and its last value becomes the feature FC of the input, sum_i wf[f, i] * x[i]; the filter's output is
sum_m wt[f, m] * state[f, m]; each unit sums its `rank` filters and the bias.
int8: the feature FC is requantized to the state's scale, clamped to the state dtype's range and then offset by
the state's zero point in that dtype (TFLM stores `zp + value` into an int8 without clamping again: it wraps);
the time FC works on state - zero point; the output is requantized to int8. TFLM applies no fused
activation on this path. float32: sums in TFLM's order, then the fused activation.

The activation state (TFLite's variable input 4) is the op's persistent state: kept between invocations,
reset to its zero point.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import State, Step
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import FLOAT_BOUNDS, activation_of

LIMITS = {"int8": (-128, 127), "int16": (-32768, 32767)}


def _exact_dot(a: np.ndarray, b: np.ndarray, subscripts: str) -> np.ndarray:
    """An integer contraction, exact in float64 (|sums| < 2**53)."""
    return np.rint(np.einsum(subscripts, a.astype(np.float64), b.astype(np.float64))).astype(np.int64)


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    x, state = inputs
    n, b, f, m = len(x), p["batch"], p["filters"], p["memory"]
    lo, hi = LIMITS[p["state_dtype"]]
    feature = _exact_dot(x.reshape(n, b, -1), c["weights_feature"], "nbi,fi->nbf") + c["feature_bias"]
    feature = np.clip(mbqm(feature, p["mult1"], p["shift1"]), lo, hi) + p["state_zp"]
    dtype = np.dtype(p["state_dtype"])
    s = state.reshape(n, b, f, m)
    s = np.concatenate([s[..., 1:], feature.astype(dtype)[..., None]], axis=-1)  # the store wraps, as in TFLM
    filters = _exact_dot(s.astype(np.int64) - p["state_zp"], c["weights_time"], "nbfm,fm->nbf")
    acc = c["bias"] + filters.reshape(n, b, p["units"], p["rank"]).sum(axis=-1)
    out = np.clip(mbqm(acc, p["mult2"], p["shift2"]) + p["out_zp"], -128, 127)
    return [out.astype(np.int8).reshape((n,) + tuple(p["out_shape"])),
            s.reshape((n,) + tuple(p["state_shape"]))]


def _seq_dot(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """float32 `acc = 0.f; for k: acc += a[..., k] * w[j, k]` per output j: [..., K] x [J, K] -> [..., J]."""
    acc = np.zeros(a.shape[:-1] + (w.shape[0],), np.float32)
    for k in range(a.shape[-1]):
        acc = acc + a[..., k:k + 1] * w[:, k]
    return acc


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    x, state = inputs
    n, b, f, m, units, rank = len(x), p["batch"], p["filters"], p["memory"], p["units"], p["rank"]
    feature = _seq_dot(x.reshape(n, b, -1).astype(np.float32), c["weights_feature"])  # (n, b, f)
    s = np.concatenate([state.reshape(n, b, f, m)[..., 1:], feature[..., None]], axis=-1)
    wt = c["weights_time"]
    filters = np.zeros((n, b, f), np.float32)
    for j in range(m):
        filters = filters + s[..., j] * wt[:, j]
    out = np.broadcast_to(c["bias"], (n, b, units)).astype(np.float32)
    grouped = filters.reshape(n, b, units, rank)
    for j in range(rank):
        out = out + grouped[..., j]
    out = np.minimum(np.maximum(out, np.float32(p["act_min"])), np.float32(p["act_max"]))
    return [out.reshape((n,) + tuple(p["out_shape"])), s.reshape((n,) + tuple(p["state_shape"]))]


@register
class Svdf(OpDef):
    name = "svdf"
    tflite = ("SVDF",)
    arity = (5, 5)
    kernels = {"svdf_s8": run_s8, "svdf_f32": run_f32}

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        wf, wt = graph.tensor(node.inputs[1]), graph.tensor(node.inputs[2])
        expect(wf.is_const and wt.is_const, node, "feature and time weights must be constants")
        expect(len(x.shape) == 2 and len(wf.shape) == 2 and len(wt.shape) == 2, node,
               "input and weights must be 2-D")
        rank = int(node.attrs.get("rank", 0))
        f, memory = wt.shape
        expect(rank >= 1 and wf.shape[0] % rank == 0, node, f"{wf.shape[0]} filters are not a multiple of rank {rank}")
        expect(wf.shape == (f, x.shape[1]), node, f"feature weights {list(wf.shape)}, expected {[f, x.shape[1]]}")
        expect(y.shape == (x.shape[0], f // rank), node, f"output {list(y.shape)}, expected {[x.shape[0], f // rank]}")
        state = node.attrs.get("activation_state")
        expect(isinstance(state, dict), node, "has no activation state (TFLite's variable input 4)")
        expect(tuple(state["shape"]) == (x.shape[0], memory * f), node,
               f"activation state {list(state['shape'])}, expected {[x.shape[0], memory * f]}")
        expect(bool(node.inputs[3]), node, "an SVDF without a bias is not supported (TFLM's kernel needs one)")
        bias = graph.tensor(node.inputs[3])
        expect(bias.is_const and bias.shape == (f // rank,), node, f"bias must be a constant of {f // rank} values")
        activation_of(node)
        if x.dtype == "int8":
            expect(bias.dtype == "int32", node, "int8 SVDF needs an int32 bias")
            expect(wf.dtype == "int8" and wt.dtype == state["dtype"] and wt.dtype in LIMITS, node,
                   "int8 SVDF needs int8 feature weights and int8 or int16 time weights and state of one dtype")
            for t in (x, y, wf, wt):
                expect(t.quant is not None and not t.quant.per_channel, node,
                       f"tensor '{t.name}' needs per-tensor quantization")
            expect(state["scale"] is not None, node, "the activation state needs quantization parameters")
            product = float(np.float32(state["scale"]) * wt.quant.scale[0])
            expect(bias.quant is not None and abs(bias.quant.s - product) < 1e-5, node,
                   "the bias scale must be the state scale times the time weights' scale (as TFLM checks)")
        else:
            expect(wf.dtype == wt.dtype == state["dtype"] == "float32", node, "float SVDF needs float32 weights")

    def macs(self, node: Node, graph: Graph) -> int:
        x, wt = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[2])
        return x.shape[0] * wt.shape[0] * (x.shape[1] + wt.shape[1])

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        wf, wt = graph.tensor(node.inputs[1]), graph.tensor(node.inputs[2])
        state = node.attrs["activation_state"]
        rank = int(node.attrs["rank"])
        f, memory = wt.shape
        units = f // rank
        bias = graph.tensor(node.inputs[3]).data
        params: dict = {"batch": x.shape[0], "features": x.shape[1], "filters": f, "memory": memory, "rank": rank,
                        "units": units, "out_shape": y.shape, "state_shape": tuple(state["shape"]),
                        "state_dtype": state["dtype"]}
        step = Step("", node.name, [node.inputs[0]], [node.outputs[0]], params, macs=self.macs(node, graph))
        if x.dtype != "int8":
            lo, hi = FLOAT_BOUNDS[activation_of(node)]
            params |= {"act_min": float(lo), "act_max": float(hi)}
            step.kernel = "svdf_f32"
            step.consts = {"weights_feature": wf.data.astype(np.float32), "weights_time": wt.data.astype(np.float32),
                           "bias": bias.astype(np.float32)}
            step.state = [State(f"{node.name}:activation_state", "float32", tuple(state["shape"]), 0.0)]
            step.scratch = x.shape[0] * f * 4
            return step
        # TFLM's PrepareSvdf: the effective scales are float32 products and quotients, then widened
        f32 = np.float32
        s_x, s_wf, s_wt, s_y = (f32(t.quant.s) for t in (x, wf, wt, y))
        s_state = f32(state["scale"])
        mult1, shift1 = quantize_multiplier(float(s_x * s_wf / s_state))
        mult2, shift2 = quantize_multiplier(float(s_state * s_wt / s_y))
        in_zp, state_zp = x.quant.zp, int(state["zero_point"])
        params |= {"mult1": mult1, "shift1": shift1, "mult2": mult2, "shift2": shift2, "state_zp": state_zp,
                   "out_zp": y.quant.zp}
        step.kernel = "svdf_s8"
        step.consts = {"weights_feature": wf.data.astype(np.int8), "weights_time": wt.data,
                       "feature_bias": (-in_zp * wf.data.astype(np.int64).sum(axis=1)).astype(np.int32),
                       "bias": bias.astype(np.int32)}
        step.state = [State(f"{node.name}:activation_state", state["dtype"], tuple(state["shape"]), state_zp)]
        step.scratch = x.shape[0] * f * 4
        return step
