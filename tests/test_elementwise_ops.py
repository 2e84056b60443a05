"""Element-wise ops (the unary and binary families, softmax variants) as single-op .tflite models written with
tinyc's exporter: the reference runtime equals TFLM byte for byte on every case's inputs (int8: every input value
plus random ones; float: random values over the op's domain), and the generated C, built once per case and fed
the whole batch, equals the reference runtime.

Where TFLM computes a float op with libm (exp, log, tanh, logistic, elu) tinyc computes it with its own float
math (tinyc/ops/_mathf.py, the same bits on every platform), so those outputs are not TFLM's bytes: the test
states how far apart they are in ulp (ULP_BOUND) and counts the values that are byte-equal. Every other float
case is byte-equal to TFLM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.test_codegen import WARN, build, generate_into, run_exe
from tinyc.export.tflite import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

tflm_runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N = 500  # random inputs per case (int8 cases also get all 256 values in the first records)
CFLAGS = WARN + ["-O1"]
# The largest ulp distance measured between tinyc's float transcendental and TFLM's (glibc's) over these cases;
# the printed lines count the byte-equal values. tinyc's expf also returns 0 below -87.34 where libm returns
# subnormals (so EXP is tested above -87).
ULP_BOUND = {"exp": 3, "log": 1, "tanh": 2, "logistic": 3, "elu": 5}


def q(scale: float, zp: int = 0) -> Quant:
    return Quant(np.array([scale], np.float32), np.array([zp], np.int32))


@dataclass
class Case:
    id: str
    graph: Graph
    inputs: list[np.ndarray] = field(default_factory=list)
    valid: np.ndarray | None = None  # per-record mask of inputs TFLM accepts (None: all)


def unary(op: str, dtype: str, shape: tuple, qi: Quant | None = None, qo: Quant | None = None, **attrs) -> Graph:
    g = Graph(op, source=f"{op} (single-op test)")
    g.add_tensor(Tensor("x", shape, dtype, qi))
    g.add_tensor(Tensor("y", shape, dtype, qo))
    g.inputs, g.outputs = ["x"], ["y"]
    g.nodes.append(Node(op, op, ["x"], ["y"], attrs))
    return g


def int8_batch(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    x = rng.integers(-128, 128, size=(N, *shape), dtype=np.int8)
    flat = x.reshape(N, -1)
    every = np.arange(-128, 128, dtype=np.int8)
    for r in range(-(-256 // flat.shape[1])):  # every int8 value somewhere in the first records
        part = every[r * flat.shape[1]:(r + 1) * flat.shape[1]]
        flat[r, :len(part)] = part
    return x


def float_batch(shape: tuple, rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    x = rng.uniform(lo, hi, size=(N, *shape)).astype(np.float32)
    special = np.array([0.0, -0.0, lo, hi, 1.0, -1.0, 0.5, 1e-30, -1e-30], np.float32)
    special = special[(special >= lo) & (special <= hi)]
    x.reshape(N, -1)[0, :len(special)] = special[: x[0].size]
    return x


UNARY_INT8 = [  # op, input quant, output quant, attrs
    ("logistic", q(0.1, 3), q(1 / 256, -128), {}),
    ("logistic", q(0.02, -10), q(1 / 256, -128), {}),
    ("logistic", q(0.5, 0), q(1 / 256, -128), {}),
    ("tanh", q(0.05, 5), q(1 / 128, 0), {}),
    ("tanh", q(0.2, -3), q(1 / 128, 0), {}),
    ("hard_swish", q(0.05, 5), q(0.04, -20), {}),
    ("hard_swish", q(0.2, -3), q(0.1, -100), {}),
    ("hard_swish", q(0.01, 0), q(0.02, 10), {}),
    ("elu", q(0.05, 5), q(0.04, -20), {}),
    ("elu", q(0.1, 50), q(0.03, 30), {}),
    ("leaky_relu", q(0.05, 5), q(0.04, -20), {"alpha": 0.1}),
    ("leaky_relu", q(0.05, 5), q(0.01, -20), {"alpha": -1.5}),
    ("leaky_relu", q(0.02, -7), q(0.05, 3), {"alpha": 0.3}),
    ("abs", q(0.05, 5), q(0.04, -20), {}),
    ("abs", q(0.05, 5), q(0.05, -20), {}),
    ("rsqrt", q(0.05, -128), q(0.04, -128), {}),
    ("rsqrt", q(0.5, -100), q(0.01, -128), {}),
]
UNARY_F32 = [  # op, input range, attrs
    ("logistic", (-20.0, 20.0), {}), ("tanh", (-6.0, 6.0), {}), ("exp", (-87.0, 88.5), {}), ("log", (0.0, 1e6), {}),
    ("log", (0.0, 2.0), {}), ("sqrt", (0.0, 1e6), {}), ("rsqrt", (1e-6, 1e4), {}), ("abs", (-5.0, 5.0), {}),
    ("neg", (-5.0, 5.0), {}), ("elu", (-8.0, 3.0), {}), ("leaky_relu", (-5.0, 5.0), {"alpha": 0.15}),
    ("hard_swish", (-8.0, 8.0), {}),
]


def unary_cases() -> list[Case]:
    rng = np.random.default_rng(12)
    cases = []
    for k, (op, qi, qo, attrs) in enumerate(UNARY_INT8):
        shape = (1, 3, 7, 5) if k % 2 else (1, 300)
        x = int8_batch(shape, rng)
        valid = None
        if op == "rsqrt":  # TFLM stops with an error below the zero point
            x = np.maximum(x, np.int8(qi.zp))
        cases.append(Case(f"{op}_s8_{k}", unary(op, "int8", shape, qi, qo, **attrs), [x], valid))
    for k, (op, (lo, hi), attrs) in enumerate(UNARY_F32):
        shape = (1, 4, 33) if k % 2 else (1, 97)
        cases.append(Case(f"{op}_f32_{k}", unary(op, "float32", shape, **attrs), [float_batch(shape, rng, lo, hi)]))
    return cases


def binary(op: str, dtype: str, a_shape: tuple, b_shape: tuple, y_shape: tuple, qa: Quant | None = None,
           qb: Quant | None = None, qy: Quant | None = None, a_const: np.ndarray | None = None,
           b_const: np.ndarray | None = None, **attrs) -> Graph:
    g = Graph(op, source=f"{op} (single-op test)")
    g.add_tensor(Tensor("a", a_shape, dtype, qa, a_const))
    g.add_tensor(Tensor("b", b_shape, dtype, qb, b_const))
    g.add_tensor(Tensor("y", y_shape, dtype, qy))
    g.inputs, g.outputs = [n for n, c in (("a", a_const), ("b", b_const)) if c is None], ["y"]
    g.nodes.append(Node(op, op, ["a", "b"], ["y"], attrs))
    return g


# (a shape, b shape, output shape): same shapes, a scalar, a row, a column, both broadcasting, rank 1 vs rank 4
SHAPES = [((1, 4, 5, 6), (1, 4, 5, 6), (1, 4, 5, 6)), ((1, 4, 5, 6), (1,), (1, 4, 5, 6)),
          ((1, 3, 7), (7,), (1, 3, 7)), ((1, 5, 1), (1, 5, 9), (1, 5, 9)),
          ((1, 4, 1, 6), (1, 1, 5, 1), (1, 4, 5, 6)), ((6,), (1, 2, 3, 6), (1, 2, 3, 6))]
BINARY_INT8 = [  # op, a quant, b quant, output quant, activation: multipliers below and above 1
    ("sub", q(0.05, 3), q(0.08, -7), q(0.1, 2), "none"), ("sub", q(0.2, -100), q(0.01, 20), q(0.03, 0), "relu"),
    ("mul", q(0.05, 3), q(0.08, -7), q(0.01, 2), "none"), ("mul", q(0.5, 10), q(0.6, 0), q(0.1, -5), "relu6"),
    ("mul", q(0.01, -3), q(0.02, 5), q(0.5, 0), "none"),
    ("squared_difference", q(0.05, 3), q(0.08, -7), q(0.1, -128), None),
    ("squared_difference", q(0.3, 0), q(0.25, 9), q(0.02, -128), None),
    ("maximum", q(0.05, 3), q(0.05, 3), q(0.05, 3), None), ("minimum", q(0.1, -2), q(0.1, -2), q(0.1, -2), None),
    ("add", q(0.05, 3), q(0.08, -7), q(0.1, 2), "none"), ("add", q(0.2, -100), q(0.01, 20), q(0.3, 0), "relu"),
    ("add", q(0.03, 0), q(0.03, 5), q(0.05, -9), "relu6"), ("add", q(0.1, 1), q(0.02, -3), q(0.12, 4), "none"),
    ("add", q(0.07, -1), q(0.05, 2), q(0.1, 0), "none"), ("add", q(0.04, 6), q(0.09, -8), q(0.11, 3), "relu"),
]
BINARY_F32 = [("sub", "none"), ("sub", "relu"), ("mul", "none"), ("mul", "relu_n1_to_1"), ("div", "none"),
              ("div", "relu6"), ("maximum", None), ("minimum", None), ("squared_difference", None),
              ("add", "none"), ("add", "relu6"), ("add", "relu")]
BINARY_I32 = ["sub", "mul", "div", "maximum", "minimum", "squared_difference", "add", "add"]


def binary_cases() -> list[Case]:
    rng = np.random.default_rng(34)
    cases = []

    def add(cid: str, op: str, dtype: str, shapes: tuple, act: str | None, quants: tuple, gen, const: int) -> None:
        a_shape, b_shape, y_shape = shapes
        attrs = {} if act is None else {"activation": act}
        a_c = gen(a_shape, 1)[0] if const == 0 else None
        b_c = gen(b_shape, 1)[0] if const == 1 else None
        g = binary(op, dtype, a_shape, b_shape, y_shape, *quants, a_const=a_c, b_const=b_c, **attrs)
        inputs = [gen(sh, N) for sh, c in ((a_shape, a_c), (b_shape, b_c)) if c is None]
        cases.append(Case(cid, g, inputs))

    def s8(shape: tuple, n: int) -> np.ndarray:
        return rng.integers(-128, 128, size=(n, *shape), dtype=np.int8)

    def f32(shape: tuple, n: int) -> np.ndarray:
        x = rng.standard_normal((n, *shape)).astype(np.float32) * np.float32(4.0)
        flat = x.reshape(n, -1)
        flat[0, :3] = np.array([0.0, -0.0, 1e30], np.float32)[:flat.shape[1]]
        return x

    def i32(shape: tuple, n: int) -> np.ndarray:
        x = rng.integers(-100000, 100000, size=(n, *shape), dtype=np.int32)
        flat = x.reshape(n, -1)
        flat[0, :3] = np.array([1, -(2**31), 2**31 - 1], np.int32)[:flat.shape[1]]
        return np.where(x == 0, 7, x)  # no zero divisors: TFLM faults on them

    for k, (op, qa, qb, qy, act) in enumerate(BINARY_INT8):
        shapes = SHAPES[k % len(SHAPES)]
        add(f"{op}_s8_{k}", op, "int8", shapes, act, (qa, qb, qy), s8, [-1, 1, 0][k % 3])
    for k, (op, act) in enumerate(BINARY_F32):
        add(f"{op}_f32_{k}", op, "float32", SHAPES[(k + 2) % len(SHAPES)], act, (), f32, [-1, 1, 0][k % 3])
    for k, op in enumerate(BINARY_I32):
        add(f"{op}_i32_{k}", op, "int32", SHAPES[(k + 1) % len(SHAPES)], "none" if op in ("add", "sub", "mul", "div")
            else None, (), i32, [1, -1][k % 2])
    return cases


CASES = unary_cases() + binary_cases()


def tflm_run(path: Path, inputs: list[np.ndarray]) -> np.ndarray:
    interp = tflm_runtime.Interpreter.from_file(str(path))
    outs = []
    for r in range(len(inputs[0])):
        for i, x in enumerate(inputs):
            interp.set_input(x[r], i)
        interp.invoke()
        outs.append(interp.get_output(0).copy())
    return np.stack(outs)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| in float32 ulp (ordered integer view; NaN equal NaN, inf equal inf)."""
    def ordered(v: np.ndarray) -> np.ndarray:
        i = v.astype(np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    d = np.abs(ordered(a) - ordered(b))
    return np.where(np.isnan(a) & np.isnan(b), 0, d)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("elementwise")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_single_op_equals_tflm_and_c(case: Case, workdir: Path) -> None:
    path = workdir / f"{case.id}.tflite"
    write_tflite(case.graph, path)
    plan = plan_memory(lower(load_model(path)))
    out_name = plan.graph.outputs[0]
    ref = run_plan(plan, case.inputs)[out_name]
    want = tflm_run(path, case.inputs)
    assert want.shape == ref.shape and want.dtype == ref.dtype
    op = case.graph.nodes[0].op
    if ref.dtype == np.float32 and op in ULP_BOUND:
        ulp = ulp_distance(ref, want)
        equal = int(np.count_nonzero(ulp == 0))
        print(f"{case.id}: {equal}/{ulp.size} values byte-equal to TFLM's libm result, max {int(ulp.max())} ulp")
        assert ulp.max() <= ULP_BOUND[op], f"{case.id}: {int(ulp.max())} ulp from TFLM"
    else:
        bad = np.flatnonzero(np.any(ref.reshape(len(ref), -1).view(np.uint8)
                                    != want.reshape(len(want), -1).view(np.uint8), axis=1))
        assert bad.size == 0, f"{case.id}: differs from TFLM on records {bad[:10]}"
    gen = generate_into(plan, workdir, case.id.replace("-", "_"))
    exe = build(gen, "gcc", CFLAGS, "gcc")
    ours = run_exe(exe, plan.graph, case.inputs)[0]
    bad = np.flatnonzero(np.any(ours.reshape(len(ours), -1).view(np.uint8)
                                != ref.reshape(len(ref), -1).view(np.uint8), axis=1))
    assert bad.size == 0, f"{case.id}: the C differs from the reference runtime on records {bad[:10]}"
