"""Single-op int8 / float32 LSTM and SVDF graphs with random weights, for tests/test_recurrent_ops.py."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node, Quant, Tensor


def _q(scale: float, zp: int = 0) -> Quant:
    return Quant([scale], [zp])


def lstm_graph(rng: np.random.Generator, batch: int = 1, steps: int = 5, features: int = 7, units: int = 6,
               time_major: bool = False, cell_clip: float = 0.0, cell_power: int = -11, h_zp: int = 3) -> Graph:
    """An int8 UNIDIRECTIONAL_SEQUENCE_LSTM with an int16 cell state of scale 2**cell_power."""
    g = Graph("lstm")
    lead = (steps, batch) if time_major else (batch, steps)
    x_s, h_s = 0.04, 1.0 / 128
    g.add_tensor(Tensor("x", lead + (features,), "int8", _q(x_s, -5)))
    g.add_tensor(Tensor("y", lead + (units,), "int8", _q(h_s, h_zp)))
    inputs = [""] * 24
    inputs[0] = "x"
    for k in range(1, 9):
        width = features if k <= 4 else units
        w_s = float(rng.uniform(0.5, 2.0)) / (127 * np.sqrt(width))
        g.add_tensor(Tensor(f"w{k}", (units, width), "int8", _q(w_s), rng.integers(-127, 128, (units, width))))
        inputs[k] = f"w{k}"
        if k <= 4:
            g.add_tensor(Tensor(f"b{k}", (units,), "int32", _q(x_s * w_s),
                                rng.integers(-(2**14), 2**14, units)))
            inputs[11 + k] = f"b{k}"
    attrs = {"cell_clip": cell_clip, "proj_clip": 0.0, "time_major": time_major, "asymmetric_quantize_inputs": False,
             "output_state": {"dtype": "int8", "shape": (batch, units), "scale": h_s, "zero_point": h_zp},
             "cell_state": {"dtype": "int16", "shape": (batch, units), "scale": 2.0**cell_power, "zero_point": 0}}
    g.nodes.append(Node("unidirectional_sequence_lstm", "lstm", inputs, ["y"], attrs))
    g.inputs, g.outputs = ["x"], ["y"]
    g.verify()
    return g


def svdf_graph(rng: np.random.Generator, dtype: str = "int8", time_dtype: str = "int8", batch: int = 1,
               features: int = 12, units: int = 5, rank: int = 2, memory: int = 4, state_zp: int = -7,
               activation: str = "none") -> Graph:
    g = Graph("svdf")
    filters = units * rank
    if dtype == "float32":
        g.add_tensor(Tensor("x", (batch, features), "float32"))
        g.add_tensor(Tensor("y", (batch, units), "float32"))
        g.add_tensor(Tensor("wf", (filters, features), "float32", None, rng.normal(0, 0.3, (filters, features))))
        g.add_tensor(Tensor("wt", (filters, memory), "float32", None, rng.normal(0, 0.5, (filters, memory))))
        g.add_tensor(Tensor("b", (units,), "float32", None, rng.normal(0, 0.2, units)))
        state = {"dtype": "float32", "shape": (batch, memory * filters), "scale": None, "zero_point": None}
    else:
        x_s, wf_s, wt_s, s_s, y_s = 0.05, 0.01, 0.02 if time_dtype == "int8" else 2e-4, 0.3, 0.08
        if time_dtype == "int16":
            state_zp = 0
        hi = 127 if time_dtype == "int8" else 32767
        g.add_tensor(Tensor("x", (batch, features), "int8", _q(x_s, -128)))
        g.add_tensor(Tensor("y", (batch, units), "int8", _q(y_s, -20)))
        g.add_tensor(Tensor("wf", (filters, features), "int8", _q(wf_s), rng.integers(-127, 128, (filters, features))))
        wt = rng.integers(-hi, hi + 1, (filters, memory))
        g.add_tensor(Tensor("wt", (filters, memory), time_dtype, _q(wt_s), wt))
        g.add_tensor(Tensor("b", (units,), "int32", _q(s_s * wt_s), rng.integers(-3000, 3000, units)))
        state = {"dtype": time_dtype, "shape": (batch, memory * filters), "scale": s_s, "zero_point": state_zp}
    attrs = {"rank": rank, "activation": activation, "asymmetric_quantize_inputs": False, "activation_state": state}
    g.nodes.append(Node("svdf", "svdf", ["x", "wf", "wt", "b", ""], ["y"], attrs))
    g.inputs, g.outputs = ["x"], ["y"]
    g.verify()
    return g
