"""Float outputs that overflow: TFLM's conv, depthwise, fully connected, pooling and add/sub/mul kernels clamp
their float32 outputs to CalculateActivationRange's bounds, +-FLT_MAX without an activation, so an output that
overflows is FLT_MAX there, not infinity; NaN (inf - inf inside a sum) passes the clamp, which is
min(max(x, lo), hi). Single-op float32 models (written by tinyc's exporter) get inputs up to +-3e38, so most sums
overflow: the reference runtime equals TFLM byte for byte on N_INPUTS inputs per case (on this host; NaN
payloads are the host's), and the generated C of all cases, merged and built under ASan/UBSan with gcc and
clang, equals the reference runtime byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.single_op import Case, merge, tflm_run
from tests.test_batch_models import pool, single, weighted
from tests.test_codegen import SANITIZE, build, generate_into, run_exe
from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N_INPUTS = 200  # inputs per case
FLT_MAX = np.finfo(np.float32).max
F = "float32"


def _cases() -> list[Graph]:
    out = []
    for n in (1, 2):
        out += [
            weighted(f"conv_{n}", "conv2d", F, (n, 4, 5, 3), (4, 3, 3, 3), same=True, seed=n),
            weighted(f"conv_relu_{n}", "conv2d", F, (n, 4, 4, 2), (3, 1, 1, 2), act="relu", seed=n + 1),
            weighted(f"dw_{n}", "depthwise_conv2d", F, (n, 5, 4, 3), (1, 3, 3, 6), dm=2, same=True, seed=n + 2),
            weighted(f"fc_{n}", "fully_connected", F, (n, 9), (4, 9), seed=n + 3),
            weighted(f"fc_relu_{n}", "fully_connected", F, (n, 2, 9), (4, 9), act="relu", seed=n + 4),
            pool(f"avg_{n}", "avg_pool2d", F, (n, 4, 6, 3), (2, 3), (2, 3), False),
            pool(f"avg_same_relu_{n}", "avg_pool2d", F, (n, 5, 5, 2), (3, 3), (1, 1), True, "relu"),
            pool(f"max_{n}", "max_pool2d", F, (n, 4, 4, 3), (2, 2), (2, 2), False),
            single(Case(f"add_{n}", "add", [((n, 3, 8), F), ((n, 3, 8), F)], [((n, 3, 8), F)])),
            single(Case(f"add_relu_{n}", "add", [((n, 3, 8), F), ((n, 3, 8), F)], [((n, 3, 8), F)],
                        {"activation": "relu"})),
            single(Case(f"add_const_{n}", "add", [((n, 2, 6), F), np.full((1, 2, 6), 2e38, np.float32)],
                        [((n, 2, 6), F)])),
            single(Case(f"add_broadcast_{n}", "add", [((n, 3, 1), F), ((1, 1, 5), F)], [((n, 3, 5), F)])),
            single(Case(f"sub_{n}", "sub", [((n, 3, 8), F), ((n, 3, 8), F)], [((n, 3, 8), F)])),
            single(Case(f"mul_{n}", "mul", [((n, 3, 8), F), ((n, 3, 8), F)], [((n, 3, 8), F)])),
        ]
    return out


CASES = _cases()


def extreme_inputs(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Values up to +-3e38 (most sums of a few of them overflow), some small, and exact +-FLT_MAX."""
    scale = rng.choice(np.float32([1.0, 1e20, 1e37, 3e38, 3e38]), size=(N_INPUTS, *shape))
    x = (rng.uniform(-1.0, 1.0, (N_INPUTS, *shape)) * scale).astype(np.float32)
    x[0], x[1] = FLT_MAX, -FLT_MAX
    return x


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list[tuple[Graph, list[np.ndarray], np.ndarray]]:
    folder: Path = tmp_path_factory.mktemp("clamp")
    results = []
    for k, g in enumerate(CASES):
        path = folder / f"{g.name}.tflite"
        write_tflite(g, path)
        graph = load_model(path)
        rng = np.random.default_rng(50 + k)
        xs = [extreme_inputs(graph.tensor(name).shape, rng) for name in graph.inputs]
        want = tflm_run(path, xs, 1)[0]
        got = run_plan(plan_memory(lower(graph)), xs)[graph.outputs[0]]
        assert got.dtype == want.dtype == np.float32 and got.size == want.size, g.name
        g32, w32 = (np.ascontiguousarray(a).reshape(N_INPUTS, -1).view(np.uint32) for a in (got, want))
        bad = np.flatnonzero(np.any(g32 != w32, axis=1))
        assert bad.size == 0, f"{g.name}: differs from TFLM on inputs {bad[:10]}"
        results.append((graph, xs, want))
    return results


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) == 28  # each compared byte for byte on N_INPUTS inputs in the fixture
    wants = {g.name: w for g, _, w in checked}
    assert not any(np.isinf(w).any() for w in wants.values())  # TFLM never gives infinity here
    top = [name for name, w in wants.items() if (np.abs(w) == FLT_MAX).any()]
    assert len(top) >= 24, sorted(set(wants) - set(top))  # the clamp bit (max pooling of finite values cannot)
    assert any(np.isnan(wants[f"{op}_{n}"]).any() for op in ("conv", "dw", "fc", "add", "sub") for n in (1, 2))


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_generated_c_equals_reference(checked, tmp_path, cc: str) -> None:
    """+-FLT_MAX printed as C literals reads back exactly (the clamp's bound is FLT_MAX, never infinity)."""
    graph = merge([g for g, _, _ in checked], "clamp")
    plan = plan_memory(lower(graph))
    xs = [x for _, inputs, _ in checked for x in inputs]
    want = run_plan(plan, xs)
    exe = build(generate_into(plan, tmp_path, "clamp"), cc, SANITIZE, "san")
    case_of = dict(zip(graph.outputs, [g.name for g, _, _ in checked], strict=True))
    bad = [case_of[name] for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True)
           if got.tobytes() != want[name].tobytes()]
    assert not bad, f"the C differs from the reference on {bad}"
