"""Float ONNX models and their int8 versions by onnxruntime's static quantizer (QDQ and QOperator formats,
per tensor and per channel, int8 and uint8 activations), for tests/test_onnx_qdq.py and
benchmarks/onnx_qdq_agreement.py."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VARIANTS = [(fmt, pc, act) for fmt in ("QDQ", "QOperator") for pc in (False, True) for act in ("int8", "uint8")]


def variant_id(variant: tuple[str, bool, str]) -> str:
    fmt, pc, act = variant
    return f"{fmt}-{'per_channel' if pc else 'per_tensor'}-{act}"


def _init(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(value.astype(np.float32), name)


def save(path: Path, nodes: list, in_shape: list, out_shape: list, inits: list, opset: int = 13) -> Path:
    graph = helper.make_graph(nodes, path.stem, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def conv_net(path: Path, seed: int = 0) -> Path:
    """Conv+ReLU, depthwise conv, a residual Add, MaxPool, GlobalAveragePool, Flatten, Gemm, Softmax."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], group=4, pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c2", "r1"], ["a"]),
             helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("GlobalAveragePool", ["p"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "wf", "bf"], ["z"], transB=1),
             helper.make_node("Softmax", ["z"], ["y"])]
    inits = [_init("w1", rng.normal(size=(4, 3, 3, 3)) * 0.3), _init("b1", rng.normal(size=4) * 0.1),
             _init("w2", rng.normal(size=(4, 1, 3, 3)) * 0.3), _init("b2", rng.normal(size=4) * 0.1),
             _init("wf", rng.normal(size=(5, 4))), _init("bf", rng.normal(size=5))]
    return save(path, nodes, [1, 3, 8, 8], [1, 5], inits)


def single_op(path: Path, op: str, seed: int = 0) -> Path:
    """One quantizable op on a [1, 4, 6, 6] input (Conv, MatMul after a Flatten, Mul by a per-channel constant,
    or Add of the input to itself after a Relu), for one-requantization agreement with onnxruntime."""
    rng = np.random.default_rng(seed)
    if op == "Conv":
        nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])]
        inits = [_init("w", rng.normal(size=(6, 4, 3, 3)) * 0.2), _init("b", rng.normal(size=6) * 0.1)]
        return save(path, nodes, [1, 4, 6, 6], [1, 6, 6, 6], inits)
    if op == "MatMul":
        nodes = [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["y"])]
        return save(path, nodes, [1, 4, 6, 6], [1, 10], [_init("w", rng.normal(size=(144, 10)) * 0.1)])
    if op == "Mul":  # by a per-channel constant (a Keras batch normalization's scale)
        nodes = [helper.make_node("Mul", ["x", "m"], ["y"])]
        return save(path, nodes, [1, 4, 6, 6], [1, 4, 6, 6], [_init("m", rng.uniform(0.5, 2.0, size=(4, 1, 1)))])
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["x", "r"], ["y"])]
    return save(path, nodes, [1, 4, 6, 6], [1, 4, 6, 6], [])


def ort_quantize(float_path: Path, out: Path, samples: np.ndarray, fmt: str, per_channel: bool,
                 activations: str, reduce_range: bool = False) -> Path:
    """onnxruntime.quantization.quantize_static of a one-input model, calibrated on `samples` (MinMax);
    `reduce_range`: 7-bit weights (what onnxruntime advises for x86 CPUs without VNNI, where its int8 kernels
    multiply in pairs by VPMADDUBSW and saturate 16-bit sums)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    name = onnx.load(str(float_path)).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.rows = iter(samples)

        def get_next(self) -> dict | None:
            row = next(self.rows, None)
            return None if row is None else {name: row[None].astype(np.float32)}

    logging.getLogger().setLevel(logging.ERROR)  # the quantizer's advice to pre-process the model
    quantize_static(str(float_path), str(out), Reader(), quant_format=getattr(QuantFormat, fmt),
                    per_channel=per_channel, reduce_range=reduce_range, weight_type=QuantType.QInt8,
                    activation_type=QuantType.QInt8 if activations == "int8" else QuantType.QUInt8)
    return out


def ort_run(path: Path, x: np.ndarray) -> np.ndarray:
    """onnxruntime's output for each row of x (the model's batch axis of 1 dropped)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.stack([sess.run(None, {name: row[None]})[0][0] for row in x])


def output_scale(path: Path) -> float:
    """The scale of the DequantizeLinear that writes the model's output (its int8 LSB)."""
    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    out = model.graph.output[0].name
    node = next(n for n in model.graph.node if n.output[0] == out)
    if node.op_type != "DequantizeLinear":
        raise ValueError(f"{path}: the output is written by {node.op_type}, not DequantizeLinear")
    return float(inits[node.input[1]])


def mnist_for_quantizer(src: Path, out: Path) -> Path:
    """The ONNX zoo's mnist-8 (opset 8, IR 3) as onnxruntime's quantizer takes it: opset 13, the constant Reshape
    of the last weights folded and each Conv -> Add(constant [C, 1, 1]) made a Conv with a bias (otherwise the
    quantizer quantizes those weights and biases as asymmetric activations, which TFLM's kernels cannot take)."""
    from onnx import version_converter

    model = version_converter.convert_version(onnx.load(str(src)), 13)
    model.ir_version = 7
    graph = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    keep = []
    for node in graph.node:
        if node.op_type == "Reshape" and all(i in inits for i in node.input):
            inits[node.output[0]] = inits[node.input[0]].reshape(inits[node.input[1]])
            continue
        conv = producer.get(node.input[0])
        if (node.op_type == "Add" and node.input[1] in inits and conv is not None and conv.op_type == "Conv"
                and len(conv.input) == 2 and inits[node.input[1]].size == inits[conv.input[1]].shape[0]):
            inits[f"{conv.name}_bias"] = inits[node.input[1]].reshape(-1)
            conv.input.append(f"{conv.name}_bias")
            conv.output[0] = node.output[0]
            continue
        keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    used = {i for n in keep for i in n.input}
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in inits.items() if k in used)
    inputs = [v for v in graph.input if v.name not in inits]
    del graph.input[:]
    graph.input.extend(inputs)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    return out
