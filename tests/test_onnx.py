"""The ONNX frontend against onnxruntime: the reference models and small models built here.

Tolerance: float32 outputs match within rtol 1e-5 and atol 1e-5 * max|reference| (the kernels
sum in another order than onnxruntime; folding batch norms and biases rounds differently).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tinyc.errors import ModelError, UnsupportedOpError
from tinyc.frontends import load_model
from tinyc.frontends.onnx import load_onnx
from tinyc.lower import lower
from tinyc.runtime import run_plan

RTOL = 1e-5


def assert_close(got: np.ndarray, ref: np.ndarray) -> None:
    np.testing.assert_allclose(got.reshape(ref.shape), ref, rtol=RTOL, atol=RTOL * float(np.abs(ref).max()))


def run_tinyc(path: Path, x: np.ndarray) -> np.ndarray:
    """x is a batch of ONNX-shaped samples (N, ...) with the model's batch axis of 1 dropped."""
    graph = load_onnx(path)
    out = run_plan(lower(graph), [x.reshape((x.shape[0],) + graph.tensor(graph.inputs[0]).shape)])
    return out[graph.outputs[0]]


def run_ort(path: Path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.stack([sess.run(None, {name: sample[None]})[0][0] for sample in x])


def const(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def build(tmp_path: Path, nodes: list, in_shape: list, inits: list, opset: int) -> Path:
    """A one-input ('x'), one-output ('y') float model with a dynamic batch 'N', saved to tmp_path."""
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    model = onnx.shape_inference.infer_shapes(model)  # fills in the output's shape
    onnx.checker.check_model(model)
    path = tmp_path / f"model_{opset}.onnx"
    onnx.save(model, str(path))
    return path


def compare(path: Path, in_shape: list, n: int = 16, lo: float = -2.0, hi: float = 2.0) -> None:
    x = np.random.default_rng(0).uniform(lo, hi, [n] + in_shape).astype(np.float32)
    assert_close(run_tinyc(path, x), run_ort(path, x))


def rnd(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed + sum(shape)).normal(0, 0.5, shape).astype(np.float32)


# --- reference models -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist(models_dir: Path) -> Path:
    return models_dir / "onnx" / "mnist-8" / "mnist-8.onnx"


def test_mnist8_graph_is_nhwc_without_transposes(mnist: Path) -> None:
    graph = load_model(mnist)
    assert graph.tensor(graph.inputs[0]).shape == (1, 1, 28, 28)  # the user-visible input stays NCHW
    ops = [n.op for n in graph.nodes]
    assert "transpose" not in ops  # C == 1 input: a reshape; the flatten's transpose is in the FC weights
    assert ops == ["reshape", "conv2d", "max_pool2d", "conv2d", "max_pool2d", "reshape", "fully_connected"]
    assert [n.attrs["activation"] for n in graph.nodes if n.op == "conv2d"] == ["relu", "relu"]


@pytest.mark.parametrize("case, label", [(0, 2), (1, 0), (2, 9)])
def test_mnist8_test_vectors(mnist: Path, case: int, label: int) -> None:
    folder = mnist.parent / f"test_data_set_{case}"
    x = numpy_helper.to_array(onnx.load_tensor(str(folder / "input_0.pb")))
    expected = numpy_helper.to_array(onnx.load_tensor(str(folder / "output_0.pb")))
    got = run_tinyc(mnist, x)
    assert int(got.reshape(-1).argmax()) == label
    assert_close(got, expected)
    sess = ort.InferenceSession(str(mnist), providers=["CPUExecutionProvider"])
    assert_close(got, sess.run(None, {sess.get_inputs()[0].name: x})[0])


def test_sine_matches_onnxruntime(models_dir: Path) -> None:
    path = models_dir / "onnx" / "tfl_helloworld_sine.onnx"
    graph = load_onnx(path)
    assert graph.tensor(graph.inputs[0]).shape == (1, 1)  # dynamic batch 'N' fixed to 1
    x = np.random.default_rng(0).uniform(0, 2 * np.pi, (1000, 1)).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]  # the model's batch is dynamic
    got = run_plan(lower(graph), [x.reshape(1000, 1, 1)])[graph.outputs[0]]
    assert_close(got, ref)


# --- small models built here ------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [8, 11, 13, 17])
def test_conv_bn_relu_maxpool_flatten_gemm(tmp_path: Path, opset: int) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["bn"], epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1, alpha=0.5, beta=2.0),
    ]
    inits = [const("w", rnd(8, 3, 3, 3)), const("b", rnd(8)), const("g", rnd(8) + 1.0), const("beta", rnd(8)),
             const("mean", rnd(8)), const("var", np.abs(rnd(8)) + 0.1),
             const("fc_w", rnd(10, 8 * 5 * 6)), const("fc_b", rnd(10))]
    path = build(tmp_path, nodes, [3, 10, 12], inits, opset)
    ops = [n.op for n in load_onnx(path).nodes]
    # batch norm, relu and the transpose before the flatten are folded away
    assert ops == ["transpose", "conv2d", "max_pool2d", "reshape", "fully_connected"]
    compare(path, [3, 10, 12])


@pytest.mark.parametrize("opset", [8, 17])
def test_depthwise_conv_relu6_global_pool_matmul(tmp_path: Path, opset: int) -> None:
    clip = (helper.make_node("Clip", ["c"], ["r"], name="relu6", min=0.0, max=6.0) if opset < 11 else
            helper.make_node("Clip", ["c", "lo", "hi"], ["r"], name="relu6"))
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], group=4, strides=[2, 2], auto_pad="SAME_UPPER"),
        clip,
        helper.make_node("GlobalAveragePool", ["r"], ["gap"], name="gap"),
        helper.make_node("Reshape", ["gap", "shape"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "fc_w"], ["mm"], name="fc"),
        helper.make_node("Add", ["mm", "fc_b"], ["y"], name="fc_bias"),
    ]
    inits = [const("w", rnd(8, 1, 3, 3) * 4), const("b", rnd(8)), const("lo", np.float32(0)),
             const("hi", np.float32(6)), const("shape", np.array([-1, 8], np.int64)),
             const("fc_w", rnd(8, 5)), const("fc_b", rnd(5))]
    path = build(tmp_path, nodes, [4, 9, 11], inits, opset)
    graph = load_onnx(path)
    assert [n.op for n in graph.nodes] == ["transpose", "depthwise_conv2d", "avg_pool2d", "reshape",
                                           "fully_connected"]
    assert graph.nodes[1].attrs["activation"] == "relu6"
    compare(path, [4, 9, 11], lo=-4, hi=4)


@pytest.mark.parametrize("ceil_mode", [0, 1])
def test_avgpool_maxpool_and_elementwise(tmp_path: Path, ceil_mode: int) -> None:
    nodes = [
        helper.make_node("AveragePool", ["x"], ["a"], name="avg", kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 0, 1, 1], count_include_pad=0, ceil_mode=ceil_mode),
        helper.make_node("Sub", ["a", "mean"], ["s"], name="sub"),
        helper.make_node("Div", ["s", "std"], ["d"], name="div"),
        helper.make_node("MaxPool", ["d"], ["m"], name="max", kernel_shape=[2, 3], strides=[2, 2],
                         ceil_mode=ceil_mode),
        helper.make_node("Mul", ["scale", "m"], ["k"], name="mul"),
        helper.make_node("Relu", ["k"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "k"], ["y"], name="residual"),
    ]
    inits = [const("mean", rnd(3, 1, 1)), const("std", np.abs(rnd(3, 1, 1)) + 0.5),
             const("scale", np.float32(1.5))]
    path = build(tmp_path, nodes, [3, 12, 10], inits, 13)
    graph = load_onnx(path)
    assert graph.tensor(graph.outputs[0]).shape == (1, 3, 4 if ceil_mode else 3, 2)
    compare(path, [3, 12, 10])


def test_same_lower_and_dilated_conv_to_nchw_output(tmp_path: Path) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", strides=[1, 2], auto_pad="SAME_LOWER"),
             helper.make_node("Conv", ["c", "w2"], ["d"], dilations=[2, 1], pads=[2, 0, 1, 1]),
             helper.make_node("Identity", ["d"], ["i"], name="id"),
             helper.make_node("Dropout", ["i"], ["y"], name="drop")]
    path = build(tmp_path, nodes, [2, 8, 9], [const("w", rnd(4, 2, 2, 4)), const("w2", rnd(3, 4, 3, 2))], 13)
    graph = load_onnx(path)
    assert graph.outputs == ["y"] and graph.tensor("y").shape == (1, 3, 7, 5)  # the output is NCHW again
    compare(path, [2, 8, 9])


def test_pytorch_style_flatten_and_softmax(tmp_path: Path) -> None:
    """x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds to a constant shape."""
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3]),
        helper.make_node("Shape", ["c"], ["sh"], name="shape"),
        helper.make_node("Gather", ["sh", "zero"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["c", "target"], ["flat"], name="view"),
        helper.make_node("Unsqueeze", ["flat", "axes1"], ["u"], name="unsqueeze"),
        helper.make_node("Squeeze", ["u", "axes1"], ["sq"], name="squeeze"),
        helper.make_node("Gemm", ["sq", "fc_w"], ["logits"], name="fc"),
        helper.make_node("Softmax", ["logits"], ["y"], name="softmax"),
    ]
    inits = [const("w", rnd(6, 2, 3, 3)), const("b", rnd(6)), const("zero", np.array(0, np.int64)),
             const("axes0", np.array([0], np.int64)), const("minus1", np.array([-1], np.int64)),
             const("axes1", np.array([1], np.int64)), const("fc_w", rnd(6 * 4 * 5, 7))]
    path = build(tmp_path, nodes, [2, 6, 7], inits, 13)
    graph = load_onnx(path)
    assert "transpose" in [n.op for n in load_onnx(path, optimize=False).nodes]
    assert [n.op for n in graph.nodes] == ["transpose", "conv2d", "reshape", "fully_connected", "softmax"]
    compare(path, [2, 6, 7])


def test_channel_softmax_and_standalone_batchnorm(tmp_path: Path) -> None:
    nodes = [helper.make_node("BatchNormalization", ["x", "g", "beta", "mean", "var"], ["bn"], name="bn"),
             helper.make_node("Clip", ["bn", "lo", "hi"], ["cl"], name="clip"),
             helper.make_node("Softmax", ["cl"], ["y"], name="softmax", axis=1)]
    inits = [const("g", rnd(5)), const("beta", rnd(5)), const("mean", rnd(5)),
             const("var", np.abs(rnd(5)) + 0.1),
             const("lo", np.float32(-1)), const("hi", np.float32(1))]
    path = build(tmp_path, nodes, [5, 3, 4], inits, 13)
    graph = load_onnx(path)
    assert [n.op for n in graph.nodes] == ["transpose", "batch_norm", "softmax", "transpose"]
    assert graph.nodes[1].attrs["activation"] == "relu_n1_to_1"
    compare(path, [5, 3, 4])


# --- errors -----------------------------------------------------------------------------------------


def test_unsupported_op_names_op_node_and_file(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Hardmax", ["r"], ["y"], name="my_hardmax")]
    path = build(tmp_path, nodes, [4], [], 13)
    with pytest.raises(UnsupportedOpError) as info:
        load_onnx(path)
    assert "Hardmax" in str(info.value) and "my_hardmax" in str(info.value) and str(path) in str(info.value)


def test_unsupported_attribute_is_reported(tmp_path: Path) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="grouped", group=2)]
    path = build(tmp_path, nodes, [4, 5, 5], [const("w", rnd(4, 2, 1, 1))], 13)
    with pytest.raises(UnsupportedOpError, match="group=2.*grouped"):
        load_onnx(path)


def test_truncated_file_is_model_error(tmp_path: Path, mnist: Path) -> None:
    data = mnist.read_bytes()
    for cut in (len(data) // 2, 100, 7):
        path = tmp_path / f"cut{cut}.onnx"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelError, match=r"malformed ONNX file") as info:
            load_model(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_model_error(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "random.onnx"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with pytest.raises(ModelError) as info:
        load_onnx(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_external_data_is_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")]
    path = build(tmp_path, nodes, [300], [const("w", rnd(300, 300))], 13)
    model = onnx.load(str(path))
    onnx.save(model, str(path), save_as_external_data=True, size_threshold=16, location="weights.bin")
    with pytest.raises(ModelError, match="external file"):
        load_onnx(path)


def test_dynamic_non_batch_dimension_is_model_error(tmp_path: Path) -> None:
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "t",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "L"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "L"])])
    path = tmp_path / "dyn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    with pytest.raises(ModelError, match="dynamic dimension 'L'"):
        load_onnx(path)


def test_tf2onnx_style_transposes_cancel(tmp_path: Path) -> None:
    """An NHWC model as tf2onnx exports it: Transpose -> Conv -> Relu -> Transpose; the IR needs none."""
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="to_nchw", perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["t", "w", "b"], ["c"], name="conv", pads=[0, 1, 0, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Transpose", ["r"], ["n"], name="to_nhwc", perm=[0, 2, 3, 1]),
             helper.make_node("Reshape", ["n", "shape"], ["f"], name="flatten"),
             helper.make_node("MatMul", ["f", "fc_w"], ["y"], name="fc")]
    inits = [const("w", rnd(4, 3, 3, 3)), const("b", rnd(4)), const("shape", np.array([1, -1], np.int64)),
             const("fc_w", rnd(6 * 8 * 4, 3))]
    path = build(tmp_path, nodes, [8, 8, 3], inits, 13)
    assert [n.op for n in load_onnx(path).nodes] == ["conv2d", "reshape", "fully_connected"]
    compare(path, [8, 8, 3])


def test_output_that_is_the_input_and_two_outputs_of_one_value(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"]), helper.make_node("Relu", ["x"], ["z"]),
         helper.make_node("Identity", ["z"], ["z2"])], "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2, 3, 4]) for n in ("y", "z", "z2")])
    path = tmp_path / "io.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    g = load_onnx(path)
    assert g.inputs == ["x"] and g.outputs == ["y", "z", "z2"]
    x = np.random.default_rng(0).normal(size=(3, 1, 2, 3, 4)).astype(np.float32)
    out = run_plan(lower(g), [x])
    np.testing.assert_array_equal(out["y"], x)
    np.testing.assert_array_equal(out["z"], np.maximum(x, 0))
    np.testing.assert_array_equal(out["z2"], np.maximum(x, 0))


@pytest.mark.parametrize("channels", [1, 5])
def test_conv1d_network(tmp_path: Path, channels: int) -> None:
    """1-D windows (NCL) run as 2-D ones of height 1: Conv1d, depthwise Conv1d, BN, pools, channel softmax."""
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", strides=[2], pads=[2, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["bn"], name="bn"),
        helper.make_node("Relu", ["bn"], ["r"], name="relu"),
        helper.make_node("Conv", ["r", "dw"], ["d"], name="dw", group=8, auto_pad="SAME_UPPER"),
        helper.make_node("MaxPool", ["d"], ["m"], name="max", kernel_shape=[3], strides=[2], ceil_mode=1),
        helper.make_node("AveragePool", ["m"], ["a"], name="avg", kernel_shape=[2], pads=[1, 0]),
        helper.make_node("Mul", ["a", "scale"], ["s"], name="scale"),
        helper.make_node("Softmax", ["s"], ["sm"], name="softmax", axis=1),
        helper.make_node("GlobalAveragePool", ["sm"], ["y"], name="gap"),
    ]
    inits = [const("w", rnd(8, channels, 4)), const("b", rnd(8)), const("g", rnd(8) + 1),
             const("beta", rnd(8)), const("mean", rnd(8)), const("var", np.abs(rnd(8)) + 0.1),
             const("dw", rnd(8, 1, 3)), const("scale", rnd(8, 1) * 3)]
    path = build(tmp_path, nodes, [channels, 40], inits, 13)
    graph = load_onnx(path)
    ops = [n.op for n in graph.nodes]
    assert ops.count("batch_norm") == 1 and "relu" not in ops  # BN + ReLU in the conv, Mul stays
    compare(path, [channels, 40])
