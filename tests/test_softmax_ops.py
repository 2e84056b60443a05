"""SOFTMAX (int8 -> int8 / int16, int16 -> int16, float32), int16 LOGISTIC and TANH and PRELU (int8, float32) as
single-op .tflite models written with tinyc's exporter: the reference runtime equals TFLM byte for byte on N random
inputs per case (integer cases also get every int8 value / both int16 extremes), and the generated C, built once per
case and fed the whole batch, equals the reference runtime. Float softmax uses tinyc's expf where TFLM calls libm:
its distance to TFLM is stated in ulp (as tests/test_elementwise_ops.py does for the unary family)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.test_codegen import build, generate_into, run_exe
from tests.test_elementwise_ops import CFLAGS, Case, binary, int8_batch, q, tflm_run, ulp_distance
from tinyc.errors import GraphError
from tinyc.export.tflite import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

tflm_runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N = 500
ULP_BOUND = {"softmax": 5}  # measured: tinyc's expf against glibc's, through the sum and the division


def single(op: str, x_dtype: str, y_dtype: str, shape: tuple, qi=None, qo=None, **attrs) -> Graph:  # noqa: ANN001
    g = Graph(op, source=f"{op} (single-op test)")
    g.add_tensor(Tensor("x", shape, x_dtype, qi))
    g.add_tensor(Tensor("y", shape, y_dtype, qo))
    g.inputs, g.outputs = ["x"], ["y"]
    g.nodes.append(Node(op, op, ["x"], ["y"], attrs))
    return g


def int16_batch(shape: tuple, rng: np.random.Generator, spread: int = 32768) -> np.ndarray:
    x = np.clip(rng.normal(0, spread, size=(N, *shape)), -32768, 32767).astype(np.int16)
    flat = x.reshape(N, -1)
    flat[0, :2] = (-32768, 32767)[: flat.shape[1]]
    flat[1, :] = 0
    return x


SOFTMAX_INT = [  # input dtype, output dtype, shape, input quant, beta
    ("int8", "int16", (1, 12), q(0.1, 3), 1.0), ("int8", "int16", (2, 3, 40), q(0.5, -3), 0.3),
    ("int8", "int16", (1, 7), q(0.02, -128), 2.5), ("int8", "int8", (1, 4, 10), q(0.08, 5), 0.7),
    ("int8", "int8", (2, 100), q(0.3, -7), 1.0),  # rows past EXP_CACHE_MAX: each exp computed twice
    ("int16", "int16", (1, 4, 10), q(0.001), 1.0), ("int16", "int16", (1, 33), q(0.0002), 2.0),
    ("int16", "int16", (3, 7), q(0.00005), 1.0), ("int16", "int16", (1, 2), q(0.0004), 0.5),
]
OUT_QUANT = {("int8", "int16"): q(1 / 65536, -32768), ("int8", "int8"): q(1 / 256, -128),
             ("int16", "int16"): q(1 / 32768, 0)}
SIGMOID16 = [  # op, input quant (power-of-two scales take TFLM's shift-only path)
    ("logistic", q(2.0**-12)), ("logistic", q(0.0004)), ("logistic", q(1 / 3000)), ("tanh", q(2.0**-12)),
    ("tanh", q(2.0**-11)), ("tanh", q(0.0007)), ("tanh", q(2.0**-14)),
]
PRELU_SHAPES = [((1, 4, 5, 6), (6,)), ((1, 4, 5, 6), (1, 1, 1, 6)), ((1, 3, 7), (3, 7)), ((1, 8), (1,)),
                ((1, 2, 3, 4), (2, 1, 4))]


def cases() -> list[Case]:
    rng = np.random.default_rng(2026)
    out = []
    for k, (xd, yd, shape, qi, beta) in enumerate(SOFTMAX_INT):
        x = int8_batch(shape, rng) if xd == "int8" else int16_batch(shape, rng, [32768, 3000][k % 2])
        g = single("softmax", xd, yd, shape, qi, OUT_QUANT[(xd, yd)], beta=beta)
        out.append(Case(f"softmax_{xd}_{yd}_{k}", g, [x]))
    for k, beta in enumerate((1.0, 0.25)):
        x = (rng.standard_normal((N, 1, 3, 17)) * 6).astype(np.float32)
        out.append(Case(f"softmax_f32_{k}", single("softmax", "float32", "float32", (1, 3, 17), beta=beta), [x]))
    for k, (op, qi) in enumerate(SIGMOID16):
        shape = (1, 5, 31)
        g = single(op, "int16", "int16", shape, qi, q(2.0**-15))
        out.append(Case(f"{op}_s16_{k}", g, [int16_batch(shape, rng, [32768, 6000][k % 2])]))
    for k, (x_shape, a_shape) in enumerate(PRELU_SHAPES):
        alpha8 = rng.integers(-128, 128, size=a_shape, dtype=np.int8)
        qs = [(q(0.05, 3), q(0.01, -5), q(0.04, -20)), (q(0.2, -100), q(0.02, 0), q(0.1, 10))][k % 2]
        g = binary("prelu", "int8", x_shape, a_shape, x_shape, *qs, b_const=alpha8)
        out.append(Case(f"prelu_s8_{k}", g, [int8_batch(x_shape, rng)]))
        alpha = (rng.standard_normal(a_shape) * 0.5).astype(np.float32)
        g = binary("prelu", "float32", x_shape, a_shape, x_shape, b_const=alpha)
        x = (rng.standard_normal((N, *x_shape)) * 3).astype(np.float32)
        x.reshape(N, -1)[0, :2] = (-0.0, 0.0)
        out.append(Case(f"prelu_f32_{k}", g, [x]))
    g = binary("prelu", "int8", (1, 3, 6), (1, 3, 6), (1, 3, 6), q(0.1, 2), q(0.03, -4), q(0.05, 1))
    out.append(Case("prelu_s8_alpha_input", g, [int8_batch((1, 3, 6), rng), int8_batch((1, 3, 6), rng)]))
    return out


CASES = cases()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("softmax_ops")


def differing_records(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.any(a.reshape(len(a), -1).view(np.uint8) != b.reshape(len(b), -1).view(np.uint8), axis=1))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_single_op_equals_tflm_and_c(case: Case, workdir: Path) -> None:
    path = workdir / f"{case.id}.tflite"
    write_tflite(case.graph, path)
    plan = plan_memory(lower(load_model(path)))
    ref = run_plan(plan, case.inputs)[plan.graph.outputs[0]]
    want = tflm_run(path, case.inputs)
    assert want.shape == ref.shape and want.dtype == ref.dtype
    op = case.graph.nodes[0].op
    if ref.dtype == np.float32 and op in ULP_BOUND:
        ulp = ulp_distance(ref, want)
        print(f"{case.id}: {int(np.count_nonzero(ulp == 0))}/{ulp.size} values byte-equal to TFLM's libm result, "
              f"max {int(ulp.max())} ulp")
        assert ulp.max() <= ULP_BOUND[op], f"{case.id}: {int(ulp.max())} ulp from TFLM"
    else:
        bad = differing_records(ref, want)
        assert bad.size == 0, f"{case.id}: differs from TFLM on records {bad[:10]}"
    gen = generate_into(plan, workdir, case.id.replace("-", "_"))
    ours = run_exe(build(gen, "gcc", CFLAGS, "gcc"), plan.graph, case.inputs)[0]
    bad = differing_records(ours, ref)
    assert bad.size == 0, f"{case.id}: the C differs from the reference runtime on records {bad[:10]}"


REFUSED = [
    (single("softmax", "int8", "int16", (1, 4), q(0.1), q(1 / 32768, 0)), "zero point -32768"),
    (single("softmax", "int16", "int16", (1, 4), q(0.001, 3), q(1 / 65536, 0)), "scale 1/32768"),
    (single("logistic", "int16", "int16", (1, 4), q(0.001, 2), q(2.0**-15)), "zero points must be 0"),
    (single("tanh", "int16", "int16", (1, 4), q(0.001), q(1 / 30000)), "output scale must be 2**-15"),
    (single("tanh", "int16", "int16", (1, 4), q(4.0), q(2.0**-15)), "too large"),
]


@pytest.mark.parametrize("graph,needle", REFUSED, ids=[str(k) for k in range(len(REFUSED))])
def test_quantizations_tflm_refuses_are_refused(graph: Graph, needle: str) -> None:
    with pytest.raises(GraphError, match=re.escape(needle)):
        graph.verify()
