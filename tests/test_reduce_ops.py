"""Reductions (MEAN, SUM, REDUCE_MAX, REDUCE_MIN; float32, int8, int16) and ARG_MAX / ARG_MIN: a single-op
.tflite per op, dtype and variant (axes, negative and repeated axes, keep_dims, the 4-D H/W mean, equal and
different input/output quantization); the reference runtime equals TFLM byte for byte on N random inputs per
case (full TFLite for ARG_MAX to int64, which TFLM refuses), and the generated C of all cases, merged into one
library, equals the reference runtime under ASan/UBSan."""

from __future__ import annotations

import numpy as np
import pytest

from tests.single_op import Case, check_against_tflm, merge, random_input
from tests.test_codegen import SANITIZE, build, generate_into, run_exe
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

N = 300  # random inputs per case
REQUANT = {"int8": (0.02, 5), "int16": (0.0007, 0)}


def _cases() -> list[Case]:
    out = []
    for t in ("int8", "float32", "int16"):
        q = REQUANT.get(t)
        out += [
            Case(f"mean_hw_keep_{t}", "mean", [((1, 5, 7, 3), t)], [((1, 1, 1, 3), t)],
                 {"axes": (1, 2), "keep_dims": True}, quant_out=q),
            Case(f"mean_hw_same_q_{t}", "mean", [((1, 4, 6, 8), t)], [((1, 1, 1, 8), t)],
                 {"axes": (2, 1), "keep_dims": True}),
            Case(f"mean_hw_{t}", "mean", [((1, 5, 7, 3), t)], [((1, 3), t)], {"axes": (1, 2), "keep_dims": False},
                 quant_out=q),
            Case(f"mean_last_neg_{t}", "mean", [((1, 6, 4), t)], [((1, 6), t)], {"axes": (-1,), "keep_dims": False}),
            Case(f"mean_dup_{t}", "mean", [((1, 6, 5), t)], [((1, 1, 5), t)], {"axes": (1, -2), "keep_dims": True},
                 quant_out=q),
            Case(f"mean_big_{t}", "mean", [((1, 49, 40), t)], [((1, 40), t)], {"axes": (1,), "keep_dims": False},
                 quant_out=q),
            Case(f"sum_{t}", "sum", [((1, 6, 4), t)], [((1, 4), t)], {"axes": (1,), "keep_dims": False},
                 quant_out=(0.3, -2) if t == "int8" else (0.004, 0) if t == "int16" else None),
            Case(f"sum_keep_{t}", "sum", [((2, 3, 4), t)], [((2, 1, 1), t)], {"axes": (2, 1), "keep_dims": True},
                 quant_out=(0.5, 1) if t == "int8" else (0.01, 0) if t == "int16" else None),
        ]
    for t in ("int8", "float32"):
        out += [
            Case(f"max_{t}", "reduce_max", [((1, 6, 4, 2), t)], [((1, 4), t)], {"axes": (1, 3), "keep_dims": False}),
            Case(f"max_keep_{t}", "reduce_max", [((1, 6, 4), t)], [((1, 6, 1), t)], {"axes": (2,), "keep_dims": True}),
            Case(f"min_{t}", "reduce_min", [((1, 6, 4), t)], [((1, 6), t)], {"axes": (-1,), "keep_dims": False}),
            Case(f"min_outer_{t}", "reduce_min", [((3, 2, 4), t)], [((2, 4), t)], {"axes": (0,), "keep_dims": False}),
        ]
    for t in ("int8", "float32"):
        out += [
            Case(f"argmax_{t}", "arg_max", [((1, 6, 5), t)], [((1, 5), "int32")], {"axis": 1}),
            Case(f"argmin_{t}", "arg_min", [((1, 6, 5), t)], [((1, 6), "int32")], {"axis": -1}),
        ]
    out += [Case("argmax_int64_out", "arg_max", [((2, 7), "int8")], [((2,), "int64")], {"axis": 1}, engine="litert"),
            Case("argmin_outer", "arg_min", [((4, 3, 2), "float32")], [((3, 2), "int32")], {"axis": 0})]
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list:
    folder = tmp_path_factory.mktemp("reduce")
    return [(c, check_against_tflm(c, folder, N, seed=k)[0]) for k, c in enumerate(CASES)]


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) >= 35  # each case compared byte for byte on N inputs inside check_against_tflm


def test_generated_c_equals_reference(checked, tmp_path) -> None:
    graph = merge([g for _, g in checked], "reduce")
    plan = plan_memory(lower(graph))
    rng = np.random.default_rng(11)
    xs = [random_input(graph.tensor(n), 64, rng) for n in graph.inputs]
    want = run_plan(plan, xs)
    exe = build(generate_into(plan, tmp_path, "reduce"), "gcc", SANITIZE, "san")
    for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True):
        assert got.tobytes() == want[name].tobytes(), name


def test_int8_max_needs_equal_quantization() -> None:
    from tests.single_op import case_graph
    from tinyc.errors import GraphError

    with pytest.raises(GraphError, match="equal input and output"):
        case_graph(Case("m", "reduce_max", [((1, 4), "int8")], [((1,), "int8")], {"axes": (1,)}, quant_out=(0.1, 0)))
