"""Builds examples/sine.onnx, the bundled demo model: a 1-32-32-1 ReLU MLP fitted to sin(x) on [0, 2*pi].

Random hidden features, output layer by ridge regression: deterministic, no training framework needed.
    .venv/bin/python examples/make_sine_model.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def fit(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 2 * np.pi, 2000, dtype=np.float64)[:, None]
    w1 = rng.normal(0, 1.0, (1, 32))
    b1 = -w1[0] * rng.uniform(0, 2 * np.pi, 32)  # hinge of each unit somewhere in the interval
    h1 = np.maximum(x @ w1 + b1, 0)
    w2 = rng.normal(0, 1.0 / np.sqrt(32), (32, 32))
    b2 = rng.normal(0, 0.1, 32)
    h2 = np.maximum(h1 @ w2 + b2, 0)
    design = np.hstack([h2, np.ones((len(x), 1))])
    # ridge regression: small, well-conditioned output weights survive int8 quantization
    sol = np.linalg.solve(design.T @ design + 1e-1 * np.eye(design.shape[1]), design.T @ np.sin(x))
    return [a.astype(np.float32) for a in (w1, b1, w2, b2, sol[:-1], sol[-1:, 0])]


def build(path: Path) -> None:
    w1, b1, w2, b2, w3, b3 = fit()
    inits = [numpy_helper.from_array(a, n) for a, n in zip((w1, b1, w2, b2, w3, b3),
                                                            ("w1", "b1", "w2", "b2", "w3", "b3"), strict=True)]
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["a1"]),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["h2"]),
        helper.make_node("Relu", ["h2"], ["a2"]),
        helper.make_node("Gemm", ["a2", "w3", "b3"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "sine", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinyc-examples")
    onnx.checker.check_model(model)
    onnx.save(model, path)


if __name__ == "__main__":
    out = Path(__file__).with_name("sine.onnx")
    build(out)
    print(f"wrote {out}")
