"""TRANSPOSE_CONV and BATCH_MATMUL (int8, float32) as single-op .tflite models written with tinyc's exporter: the
reference runtime equals TFLM byte for byte on N random inputs per case (int8 over the whole range, float with
zeros, -0.0 and values large enough to overflow to infinity), and the generated C of all cases, merged into one
library and built under ASan/UBSan, equals the reference runtime on the same inputs.

The float UNIDIRECTIONAL_SEQUENCE_LSTM computes sigmoid and tanh with tinyc's own float math where TFLM calls
glibc: with glibc's expf / tanhf substituted the reference runtime gives TFLM's bytes (the kernel's structure is
exact); with tinyc's, the tests print how many values are byte-equal and bound the distance (LSTM_ULP_BOUND,
LSTM_ABS_BOUND); the host C equals the reference byte for byte, as independent inferences and as a stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.single_op import merge, tflm_run
from tests.test_codegen import SANITIZE, build, generate_into, run_exe
from tinyc.errors import GraphError
from tinyc.export.tflite import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N = 300  # random inputs per case


def q(scale: float | np.ndarray, zp: int = 0, axis: int | None = None) -> Quant:
    s = np.atleast_1d(np.asarray(scale, np.float32))
    return Quant(s, np.full(s.size, zp, np.int32), axis)


@dataclass
class Case:
    id: str
    graph: Graph


def transpose_conv(cid: str, dtype: str, x: tuple, oc: int, k: tuple, stride: tuple, padding: str, out_hw: tuple,
                   bias: bool = True, act: str = "none", per_channel: bool = True, seed: int = 0) -> Case:
    rng = np.random.default_rng(seed)
    g = Graph(cid, source=f"{cid} (single-op test)")
    w_shape, y_shape = (oc, *k, x[3]), (x[0], *out_hw, oc)
    if dtype == "int8":
        ws = rng.uniform(0.002, 0.02, oc if per_channel else 1)
        axis = 0 if per_channel else None
        g.add_tensor(Tensor("x", x, "int8", q(0.05, -3)))
        g.add_tensor(Tensor("w", w_shape, "int8", q(ws, 0, axis), rng.integers(-127, 128, w_shape).astype(np.int8)))
        g.add_tensor(Tensor("b", (oc,), "int32", q(np.float32(0.05) * ws.astype(np.float32), 0, axis),
                            rng.integers(-3000, 3000, oc).astype(np.int32)))
        g.add_tensor(Tensor("y", y_shape, "int8", q(0.08, 5)))
    else:
        g.add_tensor(Tensor("x", x, "float32"))
        g.add_tensor(Tensor("w", w_shape, "float32", None, rng.standard_normal(w_shape).astype(np.float32)))
        g.add_tensor(Tensor("b", (oc,), "float32", None, rng.standard_normal(oc).astype(np.float32)))
        g.add_tensor(Tensor("y", y_shape, "float32"))
    g.inputs, g.outputs = ["x"], ["y"]
    g.nodes.append(Node("transpose_conv", "tconv", ["x", "w"] + (["b"] if bias else []), ["y"],
                        {"stride": stride, "padding": padding, "activation": act}))
    return Case(cid, g)


def batch_matmul(cid: str, dtype: str, a: tuple, b: tuple, y: tuple, adj_x: bool = False, adj_y: bool = False,
                 const: str = "", seed: int = 0) -> Case:
    rng = np.random.default_rng(seed)
    g = Graph(cid, source=f"{cid} (single-op test)")
    for name, shape, qq in (("a", a, q(0.037, -5)), ("b", b, q(0.0213, 7))):
        data = None
        if name == const:
            data = (rng.integers(-128, 128, shape).astype(np.int8) if dtype == "int8"
                    else rng.standard_normal(shape).astype(np.float32))
        g.add_tensor(Tensor(name, shape, dtype, qq if dtype == "int8" else None, data))
    g.add_tensor(Tensor("y", y, dtype, q(0.0711, 3) if dtype == "int8" else None))
    g.inputs, g.outputs = [n for n in ("a", "b") if n != const], ["y"]
    g.nodes.append(Node("batch_matmul", "bmm", ["a", "b"], ["y"], {"adj_x": adj_x, "adj_y": adj_y}))
    return Case(cid, g)


def _cases() -> list[Case]:
    cases = []
    for t in ("int8", "float32"):
        cases += [
            transpose_conv(f"tconv_{t}_s2_same", t, (1, 4, 5, 3), 6, (3, 3), (2, 2), "same", (8, 10)),
            transpose_conv(f"tconv_{t}_s2_valid_relu", t, (1, 4, 5, 3), 6, (3, 3), (2, 2), "valid", (9, 11),
                           act="relu"),
            transpose_conv(f"tconv_{t}_s12_nobias", t, (1, 3, 3, 2), 4, (2, 3), (1, 2), "same", (3, 6), bias=False),
            transpose_conv(f"tconv_{t}_s1_valid_relu6", t, (1, 5, 4, 4), 3, (3, 2), (1, 1), "valid", (7, 5),
                           act="relu6", per_channel=False),
            transpose_conv(f"tconv_{t}_s3_k2_batch2", t, (2, 3, 2, 5), 2, (2, 2), (3, 3), "valid", (8, 5)),
            transpose_conv(f"tconv_{t}_s2_k4_same_odd", t, (1, 3, 3, 8), 5, (4, 4), (2, 2), "same", (6, 6)),
            transpose_conv(f"tconv_{t}_k1_s2", t, (1, 4, 4, 3), 3, (1, 1), (2, 2), "valid", (7, 7)),
            batch_matmul(f"bmm_{t}_3d", t, (2, 3, 5), (2, 5, 4), (2, 3, 4)),
            batch_matmul(f"bmm_{t}_adj_xy_broadcast", t, (2, 5, 3), (1, 4, 5), (2, 3, 4), True, True),
            batch_matmul(f"bmm_{t}_rank4_vs_3_const_rhs", t, (3, 1, 3, 5), (2, 5, 4), (3, 2, 3, 4), const="b"),
            batch_matmul(f"bmm_{t}_2d_const_lhs", t, (4, 6), (6, 3), (4, 3), const="a"),
            batch_matmul(f"bmm_{t}_rank5_adj_y_const", t, (2, 1, 2, 3, 5), (2, 4, 5), (2, 1, 2, 3, 4),
                         adj_y=True, const="b"),
            batch_matmul(f"bmm_{t}_adj_x_rank3_vs_2", t, (3, 7, 2), (7, 6), (3, 2, 6), adj_x=True),
        ]
    return cases


CASES = _cases()


def random_batch(graph: Graph, rng: np.random.Generator) -> list[np.ndarray]:
    xs = []
    for name in graph.inputs:
        t = graph.tensor(name)
        if t.dtype == "int8":
            x = rng.integers(-128, 128, (N, *t.shape)).astype(np.int8)
            x[0], x[1] = -128, 127
        else:
            x = (rng.standard_normal((N, *t.shape)) * 3).astype(np.float32)
            flat = x.reshape(N, -1)
            flat[0] = 0.0
            flat[1] = -0.0
            flat[2, :2] = (3e38, -3e38)  # products and sums overflow: TFLM clamps infinities to +-FLT_MAX
        xs.append(x)
    return xs


def same_bytes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n = len(a)
    return np.all(np.ascontiguousarray(a).reshape(n, -1).view(np.uint8)
                  == np.ascontiguousarray(b).reshape(n, -1).view(np.uint8), axis=1)


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list[tuple[Graph, list[np.ndarray], np.ndarray]]:
    """Every case read back through the frontend, its inputs and its reference output, each equal to TFLM."""
    folder = tmp_path_factory.mktemp("compute")
    out = []
    for k, case in enumerate(CASES):
        path = folder / f"{case.id}.tflite"
        write_tflite(case.graph, path)
        graph = load_model(path)
        xs = random_batch(graph, np.random.default_rng(k))
        ref = run_plan(plan_memory(lower(graph)), xs)[graph.outputs[0]]
        want = tflm_run(path, xs, 1)[0]
        equal = same_bytes(ref, want)
        assert equal.all(), f"{case.id}: differs from TFLM on inputs {np.flatnonzero(~equal)[:10]}"
        out.append((graph, xs, ref))
    return out


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) == 26  # each compared byte for byte on N inputs in the fixture
    print(f"{len(CASES)} cases x {N} inputs: reference runtime == TFLM byte for byte")


def test_generated_c_equals_reference(checked, tmp_path: Path) -> None:
    graph = merge([g for g, _, _ in checked], "compute")
    plan = plan_memory(lower(graph))
    xs = [x for _, inputs, _ in checked for x in inputs]
    exe = build(generate_into(plan, tmp_path, "compute"), "gcc", SANITIZE, "san")
    for case, (_, _, ref), got in zip(CASES, checked, run_exe(exe, graph, xs), strict=True):
        equal = same_bytes(got, ref)
        assert equal.all(), f"{case.id}: the C differs from the reference on inputs {np.flatnonzero(~equal)[:10]}"


def test_refusals() -> None:
    case = batch_matmul("bad", "int8", (2, 3, 5), (3, 5, 4), (3, 3, 4))
    with pytest.raises(GraphError, match="do not broadcast"):
        case.graph.verify()
    case = transpose_conv("bad", "int8", (1, 2, 2, 3), 2, (3, 3), (2, 2), "same", (4, 4))
    case.graph.nodes[0].attrs["padding"] = "explicit"
    with pytest.raises(GraphError, match="padding"):
        case.graph.verify()
    case = transpose_conv("wide", "int8", (1, 2, 2, 70000), 1, (1, 1), (1, 1), "valid", (2, 2))
    with pytest.raises(GraphError, match="overflow"):
        case.graph.verify()
    case = transpose_conv("hybrid", "float32", (1, 2, 2, 3), 2, (3, 3), (2, 2), "same", (4, 4))
    w = case.graph.tensor("w")
    w.dtype, w.data, w.quant = "int8", np.ones(w.shape, np.int8), q(0.1)
    with pytest.raises(GraphError, match="hybrid"):
        case.graph.verify()


def lstm_f32(rng: np.random.Generator, batch: int = 1, steps: int = 5, features: int = 7, units: int = 6,
             time_major: bool = False, cell_clip: float = 0.0) -> Graph:
    """A float32 UNIDIRECTIONAL_SEQUENCE_LSTM (weights scaled so the gates use the activations' whole range)."""
    g = Graph("lstm_f32", source="lstm_f32 (single-op test)")
    lead = (steps, batch) if time_major else (batch, steps)
    g.add_tensor(Tensor("x", lead + (features,), "float32"))
    g.add_tensor(Tensor("y", lead + (units,), "float32"))
    inputs = [""] * 24
    inputs[0] = "x"
    for k in range(1, 9):
        width = features if k <= 4 else units
        w = rng.normal(0, 1.5 / np.sqrt(width), (units, width)).astype(np.float32)
        g.add_tensor(Tensor(f"w{k}", (units, width), "float32", None, w))
        inputs[k] = f"w{k}"
        if k <= 4:
            g.add_tensor(Tensor(f"b{k}", (units,), "float32", None, rng.normal(0, 0.5, units).astype(np.float32)))
            inputs[11 + k] = f"b{k}"
    state = {"dtype": "float32", "shape": (batch, units), "scale": None, "zero_point": None}
    attrs = {"cell_clip": cell_clip, "proj_clip": 0.0, "time_major": time_major, "asymmetric_quantize_inputs": False,
             "output_state": state, "cell_state": dict(state)}
    g.nodes.append(Node("unidirectional_sequence_lstm", "lstm", inputs, ["y"], attrs))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


LSTM_F32 = {"batch_major": {}, "time_major_batch2_clip": {"batch": 2, "time_major": True, "cell_clip": 0.8},
            "long_wide": {"steps": 12, "units": 16, "features": 10}}
N_LSTM, N_SEQUENCE = 200, 40
# Measured distances of tinyc's float LSTM (tinyc_expf / tinyc_tanhf) from TFLM's (glibc's expf / tanhf) over the
# inputs below: the largest ulp distance (on values near 0, where an ulp is tiny) and the largest absolute one.
LSTM_ULP_BOUND, LSTM_ABS_BOUND = 40000, 1e-6


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def ordered(v: np.ndarray) -> np.ndarray:
        i = v.astype(np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    return np.abs(ordered(a) - ordered(b))


def lstm_plan(kwargs: dict, folder: Path):  # noqa: ANN201
    from tinyc.pipeline import build_plan

    path = folder / f"lstm_{abs(hash(tuple(sorted(kwargs.items()))))}.tflite"
    write_tflite(lstm_f32(np.random.default_rng(5), **kwargs), path)
    plan = build_plan(path)
    t = plan.graph.tensor(plan.graph.inputs[0])
    x = np.random.default_rng(9).normal(0, 1.5, (N_LSTM, *t.shape)).astype(np.float32)
    x.reshape(N_LSTM, -1)[0, :3] = (0.0, -0.0, 40.0)
    return path, plan, x


@pytest.mark.parametrize("variant", list(LSTM_F32))
def test_lstm_f32_is_tflm_with_libm_math(variant: str, tmp_path: Path, monkeypatch) -> None:
    """The float kernel's structure, exactly: with glibc's expf / tanhf in place of tinyc's, the reference runtime
    gives TFLM's bytes (so every other difference is in the last bits of those two functions)."""
    import ctypes
    import ctypes.util

    from tests.helpers import tflm_outputs
    from tinyc.ops import unidirectional_sequence_lstm as lstm
    from tinyc.runtime import run_plan

    name = ctypes.util.find_library("m")
    if name is None:
        pytest.skip("no libm to load")
    libm = ctypes.CDLL(name)
    for fn in (libm.expf, libm.tanhf):
        fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    vexp = np.vectorize(lambda v: libm.expf(float(v)), otypes=[np.float32])
    vtanh = np.vectorize(lambda v: libm.tanhf(float(v)), otypes=[np.float32])

    def logistic(x: np.ndarray) -> np.ndarray:  # TFLM's reference Logistic with std::exp
        x = np.asarray(x, np.float32)
        with np.errstate(all="ignore"):
            y = np.where(x < np.float32(-9.0), vexp(x), np.float32(1) / (np.float32(1) + vexp(-x)))
            return np.where(x > np.float32("16.619047164916992188"), np.float32(1), y).astype(np.float32)

    monkeypatch.setattr(lstm, "logisticf", logistic)
    monkeypatch.setattr(lstm, "tanhf", lambda x: vtanh(np.asarray(x, np.float32)))
    path, plan, x = lstm_plan(LSTM_F32[variant], tmp_path)
    x = x[:30]
    ref = run_plan(plan, [x])[plan.graph.outputs[0]]
    assert same_bytes(ref, tflm_outputs(path, x)).all()


@pytest.mark.parametrize("variant", list(LSTM_F32))
def test_lstm_f32_vs_tflm_and_c(variant: str, tmp_path: Path) -> None:
    from tests.helpers import tflm_outputs
    from tests.test_recurrent_ops import host_outputs
    from tinyc.runtime import run_plan, run_sequence

    path, plan, x = lstm_plan(LSTM_F32[variant], tmp_path)
    out = plan.graph.outputs[0]
    ref = run_plan(plan, [x])[out]
    seq = run_sequence(plan, [x[:N_SEQUENCE]])[out]
    for what, ours, theirs in (("independent", ref, tflm_outputs(path, x)),
                               ("sequence", seq, tflm_outputs(path, x[:N_SEQUENCE], sequence=True))):
        ulp = ulp_distance(ours, theirs)
        print(f"lstm_f32 {variant} {what}: {int(np.count_nonzero(ulp == 0))}/{ulp.size} values byte-equal to TFLM, "
              f"max {int(ulp.max())} ulp, max |diff| {float(np.abs(ours - theirs).max()):.2e}")
        assert ulp.max() <= LSTM_ULP_BOUND and np.abs(ours - theirs).max() <= LSTM_ABS_BOUND
    assert same_bytes(host_outputs(plan, x, tmp_path), ref).all()
    assert same_bytes(host_outputs(plan, x[:N_SEQUENCE], tmp_path, sequence=True), seq).all()
    assert not same_bytes(seq, ref[:N_SEQUENCE]).all(), "the state made no difference: the test cannot tell"

