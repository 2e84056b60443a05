"""ONNX graph outputs that fold to constants (Shape, Size, a constant-only subgraph): the `constant` op copies
them from flash into the caller's buffer. A batch of inputs gives every input the same rows, on the reference
runtime and in the generated host C, equal to onnxruntime's; the backend node tests run one input only."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tinyc.errors import ModelError
from tinyc.frontends.onnx import convert_model
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.pipeline import run_model

BATCH = 5


def _model(extra_nodes: list, outputs: list, inits: list | None = None) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 5])
    nodes = [helper.make_node("Relu", ["x"], ["y"]), *extra_nodes]
    graph = helper.make_graph(nodes, "const_outputs", [x], [y, *outputs], initializer=inits or [])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def shape_model() -> onnx.ModelProto:
    start = numpy_helper.from_array(np.array([0.5, -2.0, 7.25], np.float32), "start")
    return _model([helper.make_node("Shape", ["x"], ["s"], start=1),
                   helper.make_node("Size", ["x"], ["n"]),
                   helper.make_node("Neg", ["start"], ["c"])],
                  [helper.make_tensor_value_info("s", TensorProto.INT64, [3]),
                   helper.make_tensor_value_info("n", TensorProto.INT64, []),
                   helper.make_tensor_value_info("c", TensorProto.FLOAT, [3])], [start])


@pytest.mark.parametrize("target", ["ref", "host"])
def test_constant_outputs_equal_onnxruntime_for_every_input(shape_model: onnx.ModelProto, target: str) -> None:
    x = np.random.default_rng(13).standard_normal((BATCH, 1, 3, 4, 5)).astype(np.float32)
    graph = convert_model(shape_model, "const_outputs.onnx")
    assert [n.op for n in graph.nodes].count("constant") == 3
    outputs, _ = run_model(plan_memory(lower(graph)), [x], target)
    sess = ort.InferenceSession(shape_model.SerializeToString(), providers=["CPUExecutionProvider"])
    for k in range(BATCH):
        want = sess.run(None, {"x": x[k]})
        for got, ref in zip(outputs, want, strict=True):
            assert got.dtype == ref.dtype
            np.testing.assert_array_equal(got[k].reshape(ref.shape), ref)


def test_float64_constant_output_is_refused() -> None:
    value = numpy_helper.from_array(np.array([1.0, 2.0]), "v")
    model = _model([helper.make_node("Identity", ["v"], ["d"])],
                   [helper.make_tensor_value_info("d", TensorProto.DOUBLE, [2])], [value])
    with pytest.raises(ModelError, match="graph output 'd' is a float64 constant"):
        convert_model(model, "f64.onnx")
