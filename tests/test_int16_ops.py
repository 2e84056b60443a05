"""int16 activations (TFLite's 16x8 scheme: int16 with zero point 0, int8 symmetric weights) for CONV_2D,
DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD and MUL (the binary family), AVERAGE_POOL_2D and MAX_POOL_2D: a
single-op .tflite per op and variant, written by tinyc's exporter (int64 or no bias: TFLM's int64 accumulator
and requantization; int32 bias: its int32 path -- the two differ by one on some outputs, so each case tells
them apart; per-channel and per-tensor weights, strides, dilation, SAME/VALID, depth multipliers, fused
activations, multipliers above 1; ADD/MUL with equal and different scales, broadcasting, constant operands;
pools with SAME/VALID, strides, batches, activations). The reference runtime equals TFLM byte for byte on N
random inputs per case (the int16 extremes included), and the generated C of all cases, merged into one
library, equals the reference runtime under ASan/UBSan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.single_op import Case, case_graph, merge, random_input, tflm_run, window
from tests.test_codegen import SANITIZE, build, generate_into, run_exe
from tinyc.errors import GraphError, UnsupportedDtypeError
from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

N = 300  # random inputs per case
S_IN = 1.0 / 8192


def weighted(cid: str, op: str, x_shape: tuple, w_shape: tuple, *, bias: str | None = "int64", per_channel=True,
             stride=(1, 1), dilation=(1, 1), same=False, act="none", dm=1, gain=1.0, out_dtype="int16",
             in_zp=0, seed=0) -> Graph:
    """One int16 node with random int8 weights; `gain` scales the requantization multipliers (1: a few outputs
    saturate)."""
    rng = np.random.default_rng(seed)
    axis = {"conv2d": 0, "fully_connected": 0, "depthwise_conv2d": 3}[op]
    n_out, depth = w_shape[axis], int(np.prod(w_shape)) // w_shape[axis]
    w = rng.integers(-127, 128, size=w_shape, endpoint=False).astype(np.int8)
    w_scale = rng.uniform(0.004, 0.02, n_out if per_channel else 1).astype(np.float32)
    mult = gain * 3.0 / (16000 * 73 * np.sqrt(depth))  # ~1/3 of int16's range for a typical accumulator
    s_out = float(np.float32(S_IN * float(w_scale.mean()) / mult / 32768 * 8))
    g = Graph(cid, source=cid)
    g.add_tensor(Tensor("x", x_shape, "int16", Quant(np.float32([S_IN]), np.int32([in_zp]))))
    g.add_tensor(Tensor("w", w_shape, "int8", Quant(w_scale, np.zeros(w_scale.size, np.int64),
                                                    axis if per_channel else None), w))
    inputs = ["x", "w"]
    if bias is not None:
        lim = 2**20 if bias == "int64" else 2**16
        b = rng.integers(-lim, lim, size=(n_out,)).astype(bias)
        g.add_tensor(Tensor("b", (n_out,), bias, Quant((S_IN * w_scale).astype(np.float32),
                                                       np.zeros(w_scale.size, np.int64), 0 if per_channel else None),
                            b))
        inputs.append("b")
    attrs: dict = {"activation": act}
    if op == "fully_connected":
        y_shape = (*x_shape[:-1], n_out)
    else:
        pads, oh, ow = window(x_shape, w_shape[1:3], stride, dilation, same)
        y_shape = (x_shape[0], oh, ow, n_out)
        attrs |= {"stride": stride, "dilation": dilation, "pads": pads}
        if op == "depthwise_conv2d":
            attrs["depth_multiplier"] = dm
    g.add_tensor(Tensor("y", y_shape, out_dtype, Quant(np.float32([s_out]), np.int32([0]))))
    g.nodes.append(Node(op, f"{op}_0", inputs, ["y"], attrs))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


CASES = [
    weighted("conv_same_i64", "conv2d", (1, 6, 7, 3), (5, 3, 3, 3), same=True),
    weighted("conv_s2_dil_relu", "conv2d", (1, 9, 8, 2), (4, 3, 2, 2), stride=(2, 1), dilation=(2, 2), act="relu",
             seed=1),
    weighted("conv_nobias", "conv2d", (1, 5, 5, 4), (3, 3, 3, 4), bias=None, same=True, seed=2),
    weighted("conv_i32_pertensor", "conv2d", (1, 6, 6, 2), (4, 2, 2, 2), bias="int32", per_channel=False,
             stride=(2, 2), seed=3),
    weighted("conv_relu6_gain", "conv2d", (2, 4, 5, 3), (2, 1, 1, 3), act="relu6", gain=40.0, seed=4),
    weighted("conv_n1_gain", "conv2d", (1, 4, 4, 1), (3, 2, 2, 1), act="relu_n1_to_1", gain=300.0, seed=5),
    weighted("dw_same_i64", "depthwise_conv2d", (1, 6, 6, 4), (1, 3, 3, 4), same=True, seed=6),
    weighted("dw_dm2_s2_relu6", "depthwise_conv2d", (1, 7, 8, 3), (1, 3, 3, 6), dm=2, stride=(2, 2), act="relu6",
             seed=7),
    weighted("dw_nobias_dil", "depthwise_conv2d", (1, 8, 8, 2), (1, 3, 3, 2), bias=None, dilation=(2, 2), same=True,
             seed=8),
    weighted("dw_pertensor_gain", "depthwise_conv2d", (1, 5, 5, 2), (1, 2, 2, 4), dm=2, per_channel=False,
             gain=60.0, seed=9),
    weighted("fc_i64", "fully_connected", (1, 16), (8, 16), seed=10),
    weighted("fc_rows_i32_pertensor", "fully_connected", (3, 10), (5, 10), bias="int32", per_channel=False,
             act="relu", seed=11),
    weighted("fc_nobias", "fully_connected", (2, 24), (6, 24), bias=None, seed=12),
    weighted("fc_keep_gain", "fully_connected", (1, 4, 6), (3, 6), gain=200.0, seed=13),
]


def binary(cid: str, op: str, a: tuple | np.ndarray, b: tuple | np.ndarray, y: tuple, act: str = "none",
           s_out: float = 0.002, s_b: float | None = None) -> Graph:
    """An int16 ADD or MUL (through the binary family); `s_b` gives the second operand its own scale."""
    spec = [x if isinstance(x, np.ndarray) else (x, "int16") for x in (a, b)]
    g = case_graph(Case(cid, op, spec, [(y, "int16")], {"activation": act}, quant_out=(s_out, 0)))
    if s_b is not None:
        g.tensor("x1").quant = Quant(np.float32([s_b]), np.int32([0]))
    g.name = cid
    return g


CONST = np.random.default_rng(5).integers(-32768, 32768, size=(1, 1, 4)).astype(np.int16)
CASES += [
    binary("add_same", "add", (1, 5, 4), (1, 5, 4), (1, 5, 4)),
    binary("add_scales_relu", "add", (1, 6, 3), (1, 6, 3), (1, 6, 3), "relu", s_out=0.0015, s_b=0.0004),
    binary("add_broadcast", "add", (2, 1, 4), (1, 3, 1), (2, 3, 4), s_b=0.003, s_out=0.004),
    binary("add_const_relu6", "add", (1, 3, 4), CONST, (1, 3, 4), "relu6"),
    binary("mul_same", "mul", (1, 5, 4), (1, 5, 4), (1, 5, 4), s_out=0.03),
    binary("mul_broadcast_relu_n1", "mul", (1, 4, 1), (1, 1, 6), (1, 4, 6), "relu_n1_to_1", s_out=0.0001),
    binary("mul_const_scales", "mul", (2, 3, 4), CONST, (2, 3, 4), s_out=0.005),
    binary("mul_scales_relu", "mul", (1, 7), (1, 7), (1, 7), "relu", s_out=0.00002, s_b=0.00001),
]



def pool(cid: str, op: str, x: tuple, k: tuple, stride: tuple, same: bool, act: str = "none") -> Graph:
    pads, oh, ow = window(x, k, stride, same=same)
    g = case_graph(Case(cid, op, [(x, "int16")], [((x[0], oh, ow, x[3]), "int16")],
                        {"kernel": k, "stride": stride, "pads": pads, "activation": act}))
    g.name = cid
    return g


CASES += [
    pool("avg_2x2", "avg_pool2d", (1, 6, 8, 3), (2, 2), (2, 2), False),
    pool("avg_3x3_same_relu6", "avg_pool2d", (2, 5, 7, 2), (3, 3), (1, 2), True, "relu6"),
    pool("avg_global_relu", "avg_pool2d", (1, 5, 4, 4), (5, 4), (1, 1), False, "relu"),
    pool("max_3x2_same", "max_pool2d", (1, 7, 5, 3), (3, 2), (2, 1), True),
    pool("max_batch2_relu_n1", "max_pool2d", (2, 4, 4, 2), (2, 2), (1, 1), True, "relu_n1_to_1"),
]


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list[Graph]:
    folder: Path = tmp_path_factory.mktemp("int16")
    graphs = []
    for k, g in enumerate(CASES):
        path = folder / f"{g.name}.tflite"
        write_tflite(g, path)
        graph = load_model(path)
        rng = np.random.default_rng(100 + k)
        xs = [random_input(graph.tensor(name), N, rng) for name in graph.inputs]
        want = tflm_run(path, xs, 1)[0].reshape(N, -1)
        plan = plan_memory(lower(graph))
        assert plan.steps[0].kernel.endswith("_s16") or plan.steps[0].params.get("dtype") == "int16"
        got = run_plan(plan, xs)[graph.outputs[0]].reshape(N, -1)
        assert got.dtype == want.dtype == np.int16
        bad = np.flatnonzero(np.any(got != want, axis=1))
        assert bad.size == 0, f"{g.name}: differs from TFLM on inputs {bad[:10]}"
        lo, hi = int(want.min()), int(want.max())
        assert hi > lo, f"{g.name}: constant output {lo}"
        graphs.append(graph)
    return graphs


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) == 27  # each compared byte for byte on N inputs in the fixture


def test_accumulator_paths(checked) -> None:
    acc64 = {g.name: lower(g).steps[0].params.get("acc64") for g in checked}
    assert acc64["conv_same_i64"] and acc64["dw_nobias_dil"] and acc64["fc_i64"] and acc64["conv_nobias"]
    assert not acc64["conv_i32_pertensor"] and not acc64["fc_rows_i32_pertensor"]


def test_generated_c_equals_reference(checked, tmp_path) -> None:
    graph = merge(checked, "int16")
    plan = plan_memory(lower(graph))
    rng = np.random.default_rng(11)
    xs = [random_input(graph.tensor(n), 64, rng) for n in graph.inputs]
    want = run_plan(plan, xs)
    exe = build(generate_into(plan, tmp_path, "int16"), "gcc", SANITIZE, "san")
    for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True):
        assert got.tobytes() == want[name].tobytes(), name


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"op": "depthwise_conv2d", "x_shape": (1, 4, 4, 2), "w_shape": (1, 2, 2, 2), "bias": "int32"}, GraphError,
     "int64 values"),
    ({"op": "conv2d", "x_shape": (1, 4, 4, 2), "w_shape": (2, 2, 2, 2), "in_zp": 3}, GraphError, "zero point 0"),
    ({"op": "fully_connected", "x_shape": (1, 8), "w_shape": (2, 8), "out_dtype": "int8"}, UnsupportedDtypeError,
     "int16 -> int8"),
])
def test_refused(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        weighted("bad", **kwargs).verify()


def test_binary_refusals() -> None:
    with pytest.raises(GraphError, match="zero point 0"):
        case_graph(Case("zp", "mul", [((1, 4), "int16")] * 2, [((1, 4), "int16")], quant_out=(0.01, 3)))
    with pytest.raises(GraphError, match="not below 1"):
        binary("big", "add", (1, 4), (1, 4), (1, 4), s_out=1e-9)
    with pytest.raises(UnsupportedDtypeError, match="int16"):
        case_graph(Case("sqd", "squared_difference", [((1, 4), "int16")] * 2, [((1, 4), "int16")],
                        quant_out=(0.01, 0)))
