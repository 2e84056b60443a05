"""LOG_SOFTMAX (int8, float32), L2_NORMALIZATION (int8, float32) and int8 DIV as single-op .tflite models written
with tinyc's exporter: the reference runtime equals TFLM byte for byte on N random inputs per case (int8 cases also
get every int8 value), and the generated C, built once per case and fed the whole batch, equals the reference
runtime. int8 DIV is also run on all 65,536 operand pairs for several quantizations, zero divisors included
(TFLM's x86 bytes where its shifts leave 0..31; see tinyc/ops/div.py). Float LOG_SOFTMAX uses tinyc's expf and
logf where TFLM calls libm's: its distance to TFLM is stated in ulp, as tests/test_softmax_ops.py does for softmax;
float L2_NORMALIZATION is byte-equal (its square root is correctly rounded in both)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.single_op import merge, tflm_run
from tests.test_codegen import HOST, SANITIZE, build, generate_into, run_exe
from tests.test_elementwise_ops import CFLAGS, Case, binary, int8_batch, q, ulp_distance
from tests.test_softmax_ops import differing_records, single
from tinyc.errors import GraphError, TinycError
from tinyc.export.tflite import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

tflm_runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N = 500
# measured: tinyc's expf and logf against glibc's, through the sum. x - max - log(sum) cancels where the row's
# maximum dominates (an output near 0 carries the error of a sum near 1), so the ulp distance there is large; in
# ulp of max(|output|, 1) (UNIT_ULP_BOUND) the difference stays small
ULP_BOUND = {"log_softmax": 32}
UNIT_ULP_BOUND = {"log_softmax": 2}
LOG_SOFTMAX_OUT, L2_OUT = q(16 / 256, 127), q(1 / 128, 0)
ALL_A = np.repeat(np.arange(-128, 128, dtype=np.int8), 256)  # with ALL_B: every pair of int8 operands
ALL_B = np.tile(np.arange(-128, 128, dtype=np.int8), 256)

LOG_SOFTMAX_S8 = [((1, 10), q(0.1, 3)), ((2, 3, 40), q(0.5, -3)), ((1, 7), q(0.02, -128)),
                  ((1, 4, 33), q(2.0**-4, 0)), ((1, 300), q(1.5, 10)), ((3, 1), q(0.05, 0))]
L2_S8 = [((1, 16), q(0.05, 3)), ((1, 3, 5, 8), q(0.1, -128)), ((2, 300), q(0.02, 0)), ((1, 4, 7), q(0.3, 100))]
DIV_S8 = [  # a quant, b quant, output quant, activation: exponents above 31 (small multipliers), shifts -29..30
    (q(0.05, 3), q(0.08, -7), q(0.1, 2), "none"), (q(0.2, -100), q(0.01, 20), q(0.03, 0), "relu"),
    (q(0.01, 0), q(0.5, 5), q(0.4, -10), "relu6"), (q(0.5, 0), q(0.5, 0), q(0.05, 0), "none"),
    (q(1e-6, 7), q(0.3, -2), q(0.2, 1), "relu_n1_to_1"), (q(300.0, -1), q(0.001, 4), q(0.0001, 0), "none"),
]
DIV_ALL_PAIRS = [(q(0.1, 3), q(0.004, -128), q(10.0, 5), "none"), (q(0.02, -5), q(0.03, 7), q(0.001, -20), "relu"),
                 (q(0.5, 0), q(0.5, 0), q(0.05, 0), "relu6"), (q(2e-8, 1), q(0.6, 0), q(0.7, -3), "none")]


def near_zero_point(shape: tuple, zp: int, rng: np.random.Generator) -> np.ndarray:
    """int8 inputs within 2 of the zero point: row sums of squares of 0 to 31 (TFLM's special inverse square
    roots, and its left shift of the multiplier)."""
    return np.clip(zp + rng.integers(-2, 3, size=(N, *shape)), -128, 127).astype(np.int8)


def cases() -> list[Case]:
    rng = np.random.default_rng(2027)
    out = []
    for k, (shape, qi) in enumerate(LOG_SOFTMAX_S8):
        g = single("log_softmax", "int8", "int8", shape, qi, LOG_SOFTMAX_OUT)
        out.append(Case(f"log_softmax_s8_{k}", g, [int8_batch(shape, rng)]))
    for k, (shape, spread) in enumerate((((1, 3, 17), 6.0), ((1, 100), 0.3), ((2, 5), 40.0))):
        x = (rng.standard_normal((N, *shape)) * spread).astype(np.float32)
        out.append(Case(f"log_softmax_f32_{k}", single("log_softmax", "float32", "float32", shape), [x]))
    for k, (shape, qi) in enumerate(L2_S8):
        x = int8_batch(shape, rng)
        x[N // 2:] = near_zero_point(shape, qi.zp, rng)[N // 2:]
        g = single("l2_normalization", "int8", "int8", shape, qi, L2_OUT, activation="none")
        out.append(Case(f"l2_normalization_s8_{k}", g, [x]))
    for k, shape in enumerate(((1, 16), (1, 4, 33), (3, 1))):
        x = (rng.standard_normal((N, *shape)) * [3.0, 1e-4, 1e20][k]).astype(np.float32)
        x[0] = 0.0  # a norm below epsilon
        g = single("l2_normalization", "float32", "float32", shape, activation="none")
        out.append(Case(f"l2_normalization_f32_{k}", g, [x]))
    shapes = [((1, 4, 5, 6), (1, 4, 5, 6)), ((1, 4, 5, 6), (1,)), ((1, 3, 7), (7,)), ((1, 5, 1), (1, 5, 9)),
              ((1, 4, 1, 6), (1, 1, 5, 1)), ((6,), (1, 2, 3, 6))]
    for k, (qa, qb, qy, act) in enumerate(DIV_S8):
        a_shape, b_shape = shapes[k]
        y_shape = tuple(np.broadcast_shapes(a_shape, b_shape))
        b_const = rng.integers(-128, 128, size=b_shape, dtype=np.int8) if k % 3 == 1 else None
        g = binary("div", "int8", a_shape, b_shape, y_shape, qa, qb, qy, b_const=b_const, activation=act)
        inputs = [int8_batch(a_shape, rng)] + ([int8_batch(b_shape, rng)] if b_const is None else [])
        out.append(Case(f"div_s8_{k}", g, inputs))
    for k, (qa, qb, qy, act) in enumerate(DIV_ALL_PAIRS):
        g = binary("div", "int8", ALL_A.shape, ALL_B.shape, ALL_A.shape, qa, qb, qy, activation=act)
        out.append(Case(f"div_s8_all_pairs_{k}", g, [ALL_A[None], ALL_B[None]]))
    return out


CASES = cases()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("norm_ops")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_single_op_equals_tflm_and_c(case: Case, workdir: Path) -> None:
    path = workdir / f"{case.id}.tflite"
    write_tflite(case.graph, path)
    plan = plan_memory(lower(load_model(path)))
    ref = run_plan(plan, case.inputs)[plan.graph.outputs[0]]
    want = tflm_run(path, case.inputs, 1)[0]
    assert want.shape == ref.shape and want.dtype == ref.dtype
    op = case.graph.nodes[0].op
    if ref.dtype == np.float32 and op in ULP_BOUND:
        ulp = ulp_distance(ref, want)
        unit = np.spacing(np.maximum(np.abs(want), np.float32(1)))
        unit_ulp = float(np.max(np.abs(ref.astype(np.float64) - want) / unit))
        print(f"{case.id}: {int(np.count_nonzero(ulp == 0))}/{ulp.size} values byte-equal to TFLM's libm result, "
              f"max {int(ulp.max())} ulp, max {unit_ulp:g} ulp of max(|y|, 1)")
        assert ulp.max() <= ULP_BOUND[op] and unit_ulp <= UNIT_ULP_BOUND[op], f"{case.id}: {int(ulp.max())} ulp"
    else:
        bad = differing_records(ref, want)
        assert bad.size == 0, f"{case.id}: differs from TFLM on records {bad[:10]}"
    gen = generate_into(plan, workdir, case.id.replace("-", "_"))
    ours = run_exe(build(gen, "gcc", CFLAGS, "gcc"), plan.graph, case.inputs)[0]
    bad = differing_records(ours, ref)
    assert bad.size == 0, f"{case.id}: the C differs from the reference runtime on records {bad[:10]}"


@pytest.mark.parametrize("pairs", [False, True], ids=["batches", "all_pairs"])
def test_merged_c_under_sanitizers_gcc_clang(pairs: bool, tmp_path: Path) -> None:
    """Every case's kernel in one library, built under ASan/UBSan (gcc) and with gcc and clang -O2 -Werror, equals
    the reference runtime (the all-pairs DIV cases have one record, the others N)."""
    chosen = [c for c in CASES if ("all_pairs" in c.id) == pairs]
    graph = merge([c.graph for c in chosen], "norm")
    xs = [x for c in chosen for x in c.inputs]
    plan = plan_memory(lower(graph))
    want = run_plan(plan, xs)
    gen = generate_into(plan, tmp_path, "norm")
    for exe in (build(gen, "gcc", SANITIZE, "san"), *(build(gen, cc, HOST[cc], cc) for cc in ("gcc", "clang"))):
        for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True):
            assert got.tobytes() == want[name].tobytes(), name


REFUSED = [
    (single("log_softmax", "int8", "int8", (1, 4), q(0.1), q(1 / 256, -128)), "scale 16/256, zero point 127"),
    (single("log_softmax", "int8", "int8", (1, 4096), q(0.1), LOG_SOFTMAX_OUT), "overflow TFLM's sum"),
    (single("log_softmax", "int8", "int8", (1, 4), q(1e-9), LOG_SOFTMAX_OUT), "below 2**-26"),
    (single("l2_normalization", "int8", "int8", (1, 4), q(0.1), q(1 / 256, 0)), "scale 1/128, zero point 0"),
    (single("l2_normalization", "float32", "float32", (1, 4), activation="relu"), "no fused activation"),
    (single("l2_normalization", "float32", "float32", (1, 2, 2, 2, 4)), "1 to 4 dimensions"),
    (binary("prelu", "int16", (1, 8), (8,), (1, 8), q(0.001), q(0.01), q(0.002)), "int16"),  # TFLM: int8 alpha
]


@pytest.mark.parametrize("graph,needle", REFUSED, ids=[str(k) for k in range(len(REFUSED))])
def test_quantizations_tflm_refuses_are_refused(graph: Graph, needle: str) -> None:
    with pytest.raises((GraphError, TinycError), match=re.escape(needle)):
        graph.verify()
