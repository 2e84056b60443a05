"""UNIDIRECTIONAL_SEQUENCE_LSTM as TFLM's kernel (lstm_eval.h, lstm_eval_common.cc): the standard LSTM (no
CIFG, peephole, projection or layer norm: TFLM refuses those), int8 activations with an int16 cell state, or
float32 throughout.

Per time step, with the hidden state h and cell state c of the previous step:
    gate = act(FC(x_t) + FC(h))   for the input, forget, cell (act tanh) and output (act sigmoid) gates
    c = f * c + i * g (clipped to cell_clip);   h = tanh(c) * o;   output_t = h
int8: each FC yields int16 in Q3.12 (saturated), their sum is saturated, sigmoid / tanh are TFLM's int16
table functions (Q0.15 out), the products are requantized by MultiplyByQuantizedMultiplier to the cell
state's scale (a power of two) and to h's int8 scale and zero point.

float32: each FC sums from 0.0f in k order, adds its bias (0.0f for the recurrent FC, which has none) and is
clamped to +-FLT_MAX (TFLM's activation range for "none"), the two are added, then sigmoid / tanh; the products
f * c, i * g and tanh(c) * o are clamped to +-FLT_MAX too, the cell clip is std::max(std::min(clip, c), -clip).
TFLM calls libm's expf / tanhf there; tinyc uses its own (tinyc/ops/_mathf.py, the same bits in the C on every
core), so float outputs may differ from TFLM's in the last bits (measured in tests/test_compute_ops.py).

h and c are the op's persistent state (TFLite's variable tensors 18 and 19): kept between invocations,
reset to h's zero point and 0 (float: 0.0).
"""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import State, Step
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier
from tinyc.ops import OpDef, expect, register
from tinyc.ops._float import clamp
from tinyc.ops._lut16 import logistic_s16, tanh_s16
from tinyc.ops._mathf import logisticf, tanhf

GATES = ("input", "forget", "cell", "output")  # the order of the packed weights and of the kernel's gates
INPUT_WEIGHTS = (1, 2, 3, 4)  # TFLite input index of each gate's input-to-gate weights
RECURRENT_WEIGHTS = (5, 6, 7, 8)
BIASES = (12, 13, 14, 15)
UNSUPPORTED = {9: "peephole", 10: "peephole", 11: "peephole", 16: "projection", 17: "projection",
               20: "layer norm", 21: "layer norm", 22: "layer norm", 23: "layer norm"}
GATE_INPUT_SCALE = 2.0**-12  # FC outputs: Q3.12
GATE_OUTPUT_SCALE = 2.0**-15  # sigmoid / tanh outputs: Q0.15
FLT_MAX = float(np.finfo(np.float32).max)


def sat16(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -32768, 32767)


def tanh_params(cell_scale_power: int) -> tuple[int, int]:
    """lstm_internal::Tanh's multiplier and left shift for a Q(-power) input (the multiplier after TFLM's
    power-of-two case)."""
    shift = 15 + cell_scale_power - 3
    return (3, -shift) if shift < 0 else (3 << shift, 0)


def _fc(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Integer x [..., K] @ w[G, S, K]^T -> [..., G, S], exact (|sums| < 2**53 in float64)."""
    out = np.einsum("...k,gsk->...gs", x.astype(np.float64), w.astype(np.float64))
    return np.rint(out).astype(np.int64)


def time_major_view(x: np.ndarray, time_major: bool) -> np.ndarray:
    """(N, B, T, F) or (N, T, B, F) -> (N, T, B, F)."""
    return x if time_major else np.swapaxes(x, 1, 2)


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    x, h, cell = inputs
    x = time_major_view(x.astype(np.int64), p["time_major"])  # (N, T, B, I)
    h = h.astype(np.int64).reshape(len(h), p["batch"], p["units"])
    cell = cell.astype(np.int64).reshape(h.shape)
    mult, shift = np.array(p["gate_mult"], np.int64), np.array(p["gate_shift"], np.int64)  # [FC of x, of h][gate]
    gates_in = _fc(x, c["w_in"]) + c["bias"][:, :]  # (N, T, B, 4, S), zero point folded into the bias
    gates_in = sat16(mbqm(gates_in, mult[0][:, None], shift[0][:, None]))
    tanh_m, tanh_s = tanh_params(p["cell_scale_power"])
    outputs = []
    for t in range(x.shape[1]):
        rec = sat16(mbqm(_fc(h, c["w_rec"]) + c["rbias"], mult[1][:, None], shift[1][:, None]))
        pre = sat16(gates_in[:, t] + rec)  # (N, B, 4, S)
        i, f, o = (logistic_s16(pre[:, :, k]).astype(np.int64) for k in (0, 1, 3))
        g = tanh_s16(pre[:, :, 2]).astype(np.int64)
        cell = sat16(sat16(mbqm(f * cell, p["forget_mult"], p["forget_shift"]))
                     + sat16(mbqm(i * g, p["input_mult"], p["input_shift"])))
        if p["cell_clip"] > 0:
            cell = np.clip(cell, -p["cell_clip"], p["cell_clip"])
        tc = tanh_s16(cell, tanh_m, tanh_s).astype(np.int64)
        h = np.clip(p["h_zp"] + mbqm(tc * o, p["hidden_mult"], p["hidden_shift"]), -128, 127)
        outputs.append(h)
    y = time_major_view(np.stack(outputs, axis=1), p["time_major"])
    n = len(y)
    return [y.astype(np.int8).reshape((n,) + tuple(p["out_shape"])),
            h.astype(np.int8).reshape((n,) + tuple(p["h_shape"])),
            cell.astype(np.int16).reshape((n,) + tuple(p["c_shape"]))]


def _fc_f32(x: np.ndarray, w: np.ndarray, bias: np.ndarray | float) -> np.ndarray:
    """TFLM's float FullyConnected of x [..., K] by w [S, K]: from 0.0f, k ascending, + bias, clamped."""
    acc = np.zeros(x.shape[:-1] + (w.shape[0],), np.float32)
    for k in range(x.shape[-1]):
        acc = acc + x[..., k:k + 1] * w[:, k]
    return clamp(acc + np.float32(bias) if np.isscalar(bias) else acc + bias, -FLT_MAX, FLT_MAX)


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    x, h, cell = inputs
    x = time_major_view(x.astype(np.float32), p["time_major"])  # (N, T, B, I)
    h = h.astype(np.float32).reshape(len(h), p["batch"], p["units"])
    cell = cell.astype(np.float32).reshape(h.shape)
    clip = np.float32(p["cell_clip"])
    outputs = []
    with np.errstate(all="ignore"):
        for t in range(x.shape[1]):
            pre = [_fc_f32(x[:, t], c["w_in"][g], c["bias"][g]) + _fc_f32(h, c["w_rec"][g], 0.0) for g in range(4)]
            i, f, o = (logisticf(pre[k]) for k in (0, 1, 3))
            g = tanhf(pre[2])
            cell = clamp(f * cell, -FLT_MAX, FLT_MAX) + clamp(i * g, -FLT_MAX, FLT_MAX)
            if clip > 0:  # std::max(std::min(clip, c), -clip): NaN becomes +clip
                cell = np.where(cell < clip, cell, clip)
                cell = np.where(cell < -clip, -clip, cell).astype(np.float32)
            h = clamp(tanhf(cell) * o, -FLT_MAX, FLT_MAX)
            outputs.append(h)
    y = time_major_view(np.stack(outputs, axis=1), p["time_major"])
    n = len(y)
    return [y.reshape((n,) + tuple(p["out_shape"])), h.reshape((n,) + tuple(p["h_shape"])),
            cell.reshape((n,) + tuple(p["c_shape"]))]


def _scale(graph: Graph, name: str) -> float:
    return graph.tensor(name).quant.s


def _multiplier(real: float) -> tuple[int, int]:
    return quantize_multiplier(real)


def _state_info(node: Node, key: str) -> dict:
    info = node.attrs.get(key)
    expect(isinstance(info, dict), node, f"has no {key.replace('_', ' ')} (TFLite's variable tensor)")
    return info


@register
class UnidirectionalSequenceLstm(OpDef):
    name = "unidirectional_sequence_lstm"
    tflite = ("UNIDIRECTIONAL_SEQUENCE_LSTM",)
    arity = (24, 24)
    kernels = {"unidirectional_sequence_lstm_s8": run_s8, "unidirectional_sequence_lstm_f32": run_f32}

    def sizes(self, node: Node, graph: Graph) -> tuple[int, int, int, int]:
        """(batch, time steps, input features, units)."""
        x = graph.tensor(node.inputs[0])
        expect(len(x.shape) == 3, node, f"input must be 3-D, got {list(x.shape)}")
        t, b = x.shape[:2] if node.attrs.get("time_major") else x.shape[1::-1]
        units = graph.tensor(node.inputs[INPUT_WEIGHTS[1]]).shape[0]
        return b, t, x.shape[2], units

    def check(self, node: Node, graph: Graph) -> None:
        for k, what in UNSUPPORTED.items():
            expect(not node.inputs[k], node, f"{what} LSTMs are not supported (TFLM's kernel refuses them too)")
        for k in INPUT_WEIGHTS + RECURRENT_WEIGHTS + BIASES:
            expect(bool(node.inputs[k]) and graph.tensor(node.inputs[k]).is_const, node,
                   f"input {k} (weights / bias) must be a constant (CIFG LSTMs are not supported)")
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        b, t, n_in, units = self.sizes(node, graph)
        for k in INPUT_WEIGHTS + RECURRENT_WEIGHTS:
            w = graph.tensor(node.inputs[k])
            want = (units, n_in if k in INPUT_WEIGHTS else units)
            expect(w.shape == want, node, f"weights {k} have shape {list(w.shape)}, expected {list(want)}")
        for k in BIASES:
            expect(graph.tensor(node.inputs[k]).shape == (units,), node, f"bias {k} must have {units} values")
        want_y = x.shape[:2] + (units,)
        expect(y.shape == want_y, node, f"output shape {list(y.shape)}, expected {list(want_y)}")
        h, c = _state_info(node, "output_state"), _state_info(node, "cell_state")
        for info, what in ((h, "output state"), (c, "cell state")):
            expect(int(np.prod(info["shape"])) == b * units, node, f"{what} must hold {b} x {units} values")
        expect(x.dtype == y.dtype == h["dtype"], node, "input, output and output state must share one dtype")
        expect(float(node.attrs.get("cell_clip", 0.0)) >= 0, node, "cell_clip must be >= 0")
        if x.dtype == "float32":
            for k in INPUT_WEIGHTS + RECURRENT_WEIGHTS + BIASES:
                expect(graph.tensor(node.inputs[k]).dtype == "float32", node, f"input {k} of a float LSTM must be "
                       "float32 (hybrid LSTMs are not supported)")
            expect(c["dtype"] == "float32", node, "a float LSTM needs a float32 cell state")
            return
        expect(x.dtype == "int8", node, f"{x.dtype} LSTMs are not supported (int8 with an int16 cell state and "
                                        "float32 are)")
        expect(c["dtype"] == "int16", node, "an int8 LSTM needs an int16 cell state")
        expect(h["scale"] is not None and c["scale"] is not None and x.quant is not None, node,
               "int8 input and states need quantization parameters")
        power = round(math.log2(c["scale"])) if 0 < c["scale"] < math.inf else None
        expect(power is not None and -40 <= power <= 2, node,  # the cell tanh's multiplier must fit its int32 math
               f"cell state scale {c['scale']:g} is outside 2**-40..2**2")
        for k in INPUT_WEIGHTS + RECURRENT_WEIGHTS:
            w = graph.tensor(node.inputs[k])
            expect(w.dtype == "int8" and w.quant is not None and not w.quant.per_channel
                   and w.quant.zp == 0, node, f"weights {k} must be int8, symmetric, per tensor")
        for k in BIASES:
            expect(graph.tensor(node.inputs[k]).dtype == "int32", node, f"bias {k} must be int32")

    def macs(self, node: Node, graph: Graph) -> int:
        b, t, n_in, units = self.sizes(node, graph)
        return b * t * 4 * units * (n_in + units) + b * t * 3 * units

    def lower(self, node: Node, graph: Graph) -> Step:
        b, t, n_in, units = self.sizes(node, graph)
        h, c = node.attrs["output_state"], node.attrs["cell_state"]
        y = graph.tensor(node.outputs[0])
        params: dict = {"batch": b, "steps": t, "features": n_in, "units": units,
                        "time_major": bool(node.attrs.get("time_major")), "out_shape": y.shape,
                        "h_shape": tuple(h["shape"]), "c_shape": tuple(c["shape"])}
        w_in = np.stack([graph.tensor(node.inputs[k]).data for k in INPUT_WEIGHTS])
        w_rec = np.stack([graph.tensor(node.inputs[k]).data for k in RECURRENT_WEIGHTS])
        bias = np.stack([graph.tensor(node.inputs[k]).data for k in BIASES])
        cell_clip = float(np.float32(node.attrs.get("cell_clip", 0.0)))
        step = Step("unidirectional_sequence_lstm_s8", node.name, [node.inputs[0]], [node.outputs[0]], params,
                    macs=self.macs(node, graph))
        if graph.tensor(node.inputs[0]).dtype == "float32":
            step.kernel = "unidirectional_sequence_lstm_f32"
            params |= {"cell_clip": cell_clip, "act_min": -FLT_MAX, "act_max": FLT_MAX}
            step.consts = {"w_in": w_in.astype(np.float32), "w_rec": w_rec.astype(np.float32),
                           "bias": bias.astype(np.float32)}
            step.state = [State(f"{node.name}:output_state", "float32", tuple(h["shape"]), 0.0),
                          State(f"{node.name}:cell_state", "float32", tuple(c["shape"]), 0.0)]
            step.scratch = 4 * b * units * 4  # the four gates, float
            return step
        # TFLM's PrepareGateParametersInteger / CreateGateParams / CreateInterGateMulParams
        x_scale, x_zp = _scale(graph, node.inputs[0]), graph.tensor(node.inputs[0]).quant.zp
        h_scale, h_zp, c_scale = float(np.float32(h["scale"])), int(h["zero_point"]), float(np.float32(c["scale"]))
        mult = np.zeros((2, 4), np.int32)
        shift = np.zeros((2, 4), np.int32)
        for g in range(4):
            for row, (k, s_in) in enumerate(((INPUT_WEIGHTS[g], x_scale), (RECURRENT_WEIGHTS[g], h_scale))):
                mult[row, g], shift[row, g] = _multiplier(s_in * _scale(graph, node.inputs[k]) / GATE_INPUT_SCALE)
        w64_in, w64_rec = w_in.astype(np.int64), w_rec.astype(np.int64)
        step.consts = {"w_in": w_in.astype(np.int8), "w_rec": w_rec.astype(np.int8),
                       "bias": (bias.astype(np.int64) - x_zp * w64_in.sum(axis=2)).astype(np.int32),
                       "rbias": (-h_zp * w64_rec.sum(axis=2)).astype(np.int32)}
        forget = _multiplier(GATE_OUTPUT_SCALE * c_scale / c_scale)
        inp = _multiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / c_scale)
        hidden = _multiplier(GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE / h_scale)
        clip = int(min(max(cell_clip / c_scale, -32768.0), 32767.0)) if cell_clip > 0 else 0
        power = round(math.log2(c_scale))  # TFLM's CheckedLog2 (its result is used even when inexact)
        tanh_m, tanh_s = tanh_params(power)
        params |= {"gate_mult": tuple(map(tuple, mult.tolist())), "gate_shift": tuple(map(tuple, shift.tolist())),
                   "h_zp": h_zp, "cell_clip": clip, "cell_scale_power": power, "tanh_mult": tanh_m,
                   "tanh_shift": tanh_s, "forget_mult": forget[0], "forget_shift": forget[1],
                   "input_mult": inp[0], "input_shift": inp[1], "hidden_mult": hidden[0],
                   "hidden_shift": hidden[1]}
        step.state = [State(f"{node.name}:output_state", "int8", tuple(h["shape"]), h_zp),
                      State(f"{node.name}:cell_state", "int16", tuple(c["shape"]), 0)]
        step.scratch = 4 * b * units * 2  # the four gates, int16
        return step
