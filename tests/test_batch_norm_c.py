"""A batch normalization with no producer to fold into (right after the input) runs as its own float kernel: the
generated C equals the reference runtime byte for byte, and both equal onnxruntime to float32 rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.helpers import run_targets


def bn_model(path: Path, relu: bool) -> Path:
    rng = np.random.default_rng(5)
    c = 6
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in (
        ("gamma", rng.normal(size=c)), ("beta", rng.normal(size=c)), ("mean", rng.normal(size=c)),
        ("var", rng.uniform(0.1, 2.0, size=c)))]
    nodes = [helper.make_node("BatchNormalization", ["x", "gamma", "beta", "mean", "var"], ["bn"], epsilon=1e-3)]
    nodes.append(helper.make_node("Relu", ["bn"], ["y"]) if relu else helper.make_node("Identity", ["bn"], ["y"]))
    graph = helper.make_graph(nodes, "bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, 4, 5])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


@pytest.mark.parametrize("relu", [False, True], ids=["plain", "relu"])
def test_host_equals_reference_and_onnxruntime(tmp_path: Path, relu: bool) -> None:
    model = bn_model(tmp_path / "bn.onnx", relu)
    x = np.random.default_rng(1).normal(scale=3.0, size=(200, 1, 6, 4, 5)).astype(np.float32)
    x[0, 0, 0, 0, :4] = [3e38, -3e38, -0.0, 1e-40]  # overflow to inf, a signed zero, a subnormal (cli: finite only)
    np.save(tmp_path / "x.npy", x)
    outs = run_targets(model, tmp_path / "x.npy", tmp_path)
    assert outs["ref"].tobytes() == outs["host"].tobytes()
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    expected = np.stack([session.run(None, {"x": s})[0] for s in x[1:]])
    np.testing.assert_allclose(outs["ref"][1:].reshape(expected.shape), expected, rtol=1e-5, atol=1e-5)
