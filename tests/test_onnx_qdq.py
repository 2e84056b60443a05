"""Quantized ONNX (onnxruntime's static quantizer, QDQ and QOperator formats) lowered onto tinyc's int8
kernels: agreement with onnxruntime (tinyc computes TFLM's fixed-point requantization, onnxruntime rounds in
float: each requantization may differ by 1 LSB), the generated C and an emulated board equal the reference
runtime byte for byte, and refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.helpers import assert_one_line_error, invoke
from tests.qdq_models import (
    VARIANTS,
    conv_net,
    mnist_for_quantizer,
    ort_quantize,
    ort_run,
    output_scale,
    single_op,
    variant_id,
)
from tinyc.frontends.onnx import load_onnx
from tinyc.lower import lower
from tinyc.runtime import run_plan

N_INPUTS = 300
INT8_OPS = {"conv2d", "depthwise_conv2d", "fully_connected", "add", "max_pool2d", "mean"}


def ref_run(path: Path, x: np.ndarray) -> np.ndarray:
    graph = load_onnx(path)
    out = run_plan(lower(graph), [x.reshape((len(x),) + graph.tensor(graph.inputs[0]).shape)])
    return out[graph.outputs[0]].reshape(len(x), -1)


def lsb_diff(got: np.ndarray, ref: np.ndarray, scale: float) -> np.ndarray:
    return np.rint(np.abs(got.reshape(ref.shape).astype(np.float64) - ref) / scale).astype(int)


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    return np.random.default_rng(7).normal(size=(N_INPUTS, 3, 8, 8)).astype(np.float32)


@pytest.fixture(scope="module")
def quantized(tmp_path_factory: pytest.TempPathFactory, inputs: np.ndarray) -> dict:
    tmp = tmp_path_factory.mktemp("qdq")
    float_path = conv_net(tmp / "net.onnx")
    return {v: ort_quantize(float_path, tmp / f"{variant_id(v)}.onnx", inputs[:32], *v) for v in VARIANTS}


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_conv_net_agrees_with_onnxruntime(quantized: dict, inputs: np.ndarray, variant: tuple) -> None:
    path = quantized[variant]
    graph = load_onnx(path)
    assert INT8_OPS <= {n.op for n in graph.nodes if graph.tensor(n.outputs[0]).dtype == "int8"}
    ref, got = ort_run(path, inputs).reshape(N_INPUTS, -1), ref_run(path, inputs)
    diff = lsb_diff(got, ref, output_scale(path))
    # 1-LSB differences of seven requantizations in a row add up (measured: benchmarks/onnx_qdq_agreement.md);
    # each one alone is within 1 LSB (test_one_requantization_within_1_lsb); the class agrees on every input
    assert np.mean(diff == 0) > 0.7, np.mean(diff == 0)
    assert np.array_equal(got.argmax(1), ref.argmax(1))


@pytest.mark.parametrize("op", ["Conv", "MatMul", "Mul", "Add"])
@pytest.mark.parametrize("variant", [("QDQ", True, "int8"), ("QOperator", False, "uint8")], ids=variant_id)
def test_one_requantization_within_1_lsb(tmp_path: Path, op: str, variant: tuple) -> None:
    x = np.random.default_rng(3).normal(size=(500, 4, 6, 6)).astype(np.float32)
    # 7-bit weights: onnxruntime's own int8 kernels are then exact on every x86 CPU (on AVX2 without VNNI
    # full-range weights saturate its 16-bit pair sums: measured 25 LSB off the exact integer result)
    path = ort_quantize(single_op(tmp_path / f"{op}.onnx", op), tmp_path / "q.onnx", x[:32], *variant,
                        reduce_range=True)
    graph = load_onnx(path)
    int8_ops = {n.op for n in graph.nodes if graph.tensor(n.outputs[0]).dtype == "int8"}
    assert {"Conv": "conv2d", "MatMul": "fully_connected", "Mul": "mul", "Add": "add"}[op] in int8_ops, int8_ops
    diff = lsb_diff(ref_run(path, x), ort_run(path, x).reshape(500, -1), output_scale(path))
    assert diff.max() <= 1
    assert np.mean(diff == 0) > 0.9


@pytest.mark.parametrize("form", [("QOperator", True, "uint8"), ("QDQ", True, "int8")], ids=variant_id)
def test_ref_host_and_board_bytes_equal(quantized: dict, inputs: np.ndarray, tmp_path: Path, form: tuple) -> None:
    # the QOperator form is int8 from input to output; the QDQ form keeps its softmax (output scale 1/255, TFLM's
    # int8 softmax needs 1/256) in float32 between a dequantize and a quantize (a float kernel between int8 ones:
    # the graph gcc 12 -O2 miscompiled before the run function hid the arena's address)
    path = quantized[form]
    np.save(tmp_path / "in.npy", inputs[:20].reshape(20, 1, 3, 8, 8))
    outs = {}
    for target in ("ref", "host", "nucleo-l4r5zi"):
        code, err, _ = invoke("run", path, "-i", tmp_path / "in.npy", "-o", tmp_path / f"{target}.npy",
                              "--target", target)
        assert code == 0, err
        outs[target] = np.load(tmp_path / f"{target}.npy")
    assert outs["ref"].tobytes() == outs["host"].tobytes() == outs["nucleo-l4r5zi"].tobytes()
    assert np.array_equal(outs["ref"].reshape(20, -1), ref_run(path, inputs[:20]))


def test_mnist8_quantized_by_onnxruntime(models_dir: Path, tmp_path: Path) -> None:
    folder = models_dir / "onnx" / "mnist-8"
    vectors = [onnx.numpy_helper.to_array(onnx.load_tensor(str(folder / f"test_data_set_{i}" / "input_0.pb")))
               for i in range(3)]
    labels = [int(onnx.numpy_helper.to_array(onnx.load_tensor(str(folder / f"test_data_set_{i}" / "output_0.pb")))
                  .argmax()) for i in range(3)]
    x = np.concatenate(vectors).astype(np.float32)
    noise = np.random.default_rng(0).normal(0, 20, (15, 1, 28, 28))
    calib = np.concatenate([x, np.clip(np.tile(x, (5, 1, 1, 1)) + noise, 0, 255)]).astype(np.float32)
    upgraded = mnist_for_quantizer(folder / "mnist-8.onnx", tmp_path / "mnist-13.onnx")
    for variant in (("QDQ", True, "int8"), ("QOperator", False, "uint8")):
        path = ort_quantize(upgraded, tmp_path / f"{variant_id(variant)}.onnx", calib, *variant)
        got, ref = ref_run(path, x), ort_run(path, x).reshape(3, -1)
        assert list(got.argmax(1)) == list(ref.argmax(1)) == labels


def _model(tmp_path: Path, nodes: list, inits: list, out_type: int = TensorProto.FLOAT,
           out_shape: tuple = (1, 2, 4, 4)) -> Path:
    graph = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                              [helper.make_tensor_value_info("y", out_type, list(out_shape))], inits)
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def _q(name: str, value: float | list, dtype: type = np.int8) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype), name)


def test_refusals_name_op_node_and_file(tmp_path: Path) -> None:
    scale, zp = numpy_helper.from_array(np.float32(0.1), "s"), _q("z", 0, np.uint8)
    w = _q("w", np.ones((2, 2, 1, 1)), np.uint8)
    dynamic = _model(tmp_path, [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
                                helper.make_node("ConvInteger", ["xq", "w", "z", "z"], ["acc"], name="conv_int"),
                                helper.make_node("Cast", ["acc"], ["y"], to=TensorProto.FLOAT)], [scale, zp, w])
    code, err, _ = invoke("compile", dynamic, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "ConvInteger", "int32 accumulator", "conv_int", str(dynamic))
    assert not (tmp_path / "out").exists()

    per_channel = _model(tmp_path, [
        helper.make_node("QuantizeLinear", ["x", "pcs", "pcz"], ["xq"], axis=1, name="pcq"),
        helper.make_node("DequantizeLinear", ["xq", "pcs", "pcz"], ["y"], axis=1)],
        [numpy_helper.from_array(np.float32([0.1, 0.2]), "pcs"), _q("pcz", [0, 0])])
    code, err, _ = invoke("compile", per_channel, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "QuantizeLinear", "per-channel", "pcq", str(per_channel))

    uint8_out = _model(tmp_path, [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], name="uq")],
                       [scale, zp], TensorProto.UINT8)
    code, err, _ = invoke("compile", uint8_out, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "QuantizeLinear", "uint8 graph output", "uq", str(uint8_out))

    asymmetric = _model(tmp_path, [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
        helper.make_node("DequantizeLinear", ["w", "s", "wz"], ["wd"]),
        helper.make_node("Conv", ["xd", "wd"], ["c"], name="asym_conv"),
        helper.make_node("QuantizeLinear", ["c", "s", "z"], ["cq"]),
        helper.make_node("DequantizeLinear", ["cq", "s", "z"], ["y"])],
        [scale, zp, _q("w", np.full((2, 2, 1, 1), 200), np.uint8), _q("wz", 10, np.uint8)])
    code, err, _ = invoke("compile", asymmetric, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "Conv", "not symmetric int8", "asym_conv", str(asymmetric))
