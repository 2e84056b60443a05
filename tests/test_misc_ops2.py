"""More TFLM builtins and dtypes: REDUCE_ALL (bool), DYNAMIC_UPDATE_SLICE (float32/int8/int32 with int32/int64 start
indices, clamped as TFLM), int8 ADD_N and CUMSUM (TFLM's quantized sums), int16 SUB, GATHER with batch_dims and
the hybrid EMBEDDING_LOOKUP (int8 table, float32 output). As tests/test_misc_ops.py: one single-op .tflite per op,
dtype and variant through tinyc's exporter and frontend, the reference runtime byte-equal to TFLM on N random
inputs per case, and the generated C of all cases in one library under ASan/UBSan equal to the reference."""

from __future__ import annotations

import numpy as np
import pytest

from tests.single_op import merge
from tests.test_codegen import SANITIZE, build, generate_into, run_exe
from tests.test_misc_ops import Case, N, Operand, act, compare, const, indices, q
from tinyc.errors import GraphError, UnsupportedDtypeError
from tinyc.ir import Quant
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

pytest.importorskip("tflite_micro.python.tflite_micro.runtime")


def mostly_true(s: tuple, n: int, rng: np.random.Generator) -> np.ndarray:
    """Bools that are true 90% of the time, so that ALL over several elements is often true too."""
    return rng.random((n, *s)) < 0.9


def starts(lo: int, hi: int, dtype: str = "int32", huge: bool = False):  # noqa: ANN201
    """Start indices in lo..hi (outside the valid range, for the clamp), a quarter of them huge when asked."""
    def draw(s: tuple, n: int, rng: np.random.Generator) -> np.ndarray:
        x = rng.integers(lo, hi, size=(n, *s), endpoint=True).astype(dtype)
        if huge:
            big = rng.choice(np.array([-(2**40), -(2**31) - 1, 2**31, 2**40, 2**62], np.int64), size=(n, *s))
            x = np.where(rng.random((n, *s)) < 0.25, big, x)
        return x.astype(dtype)
    return draw


def _reduce_all_cases() -> list[Case]:
    out = []
    for j, (shape, axes, keep, y) in enumerate((((2, 3, 4), (1,), False, (2, 4)), ((2, 3, 4), (0, 2), True, (1, 3, 1)),
                                                ((3, 5), (-1,), False, (3,)), ((2, 2, 3), (0, 1, 2), False, (1,)),
                                                ((4, 3), (1, -1), True, (4, 1)))):
        out.append(Case(f"reduce_all_{j}", "reduce_all", [act(shape, "bool", gen=mostly_true)], [Operand(y, "bool")],
                        {"axes": axes, "keep_dims": keep}))
    return out


def _dus_cases(rng: np.random.Generator) -> list[Case]:
    i8 = q(0.05, -3)
    return [
        Case("dus_f32_i32", "dynamic_update_slice", [act((4, 5, 3), "float32"), act((2, 3, 3), "float32"),
                                                     act((3,), "int32", gen=starts(-4, 8))],
             [Operand((4, 5, 3), "float32")]),
        Case("dus_int8_i64", "dynamic_update_slice", [act((3, 6), "int8", i8), act((2, 2), "int8", i8),
                                                      act((2,), "int64", gen=starts(-3, 9, "int64", True))],
             [Operand((3, 6), "int8", i8)]),
        Case("dus_int32_const_idx", "dynamic_update_slice", [act((2, 3, 4), "int32"), act((1, 2, 2), "int32"),
                                                             const(np.array([1, -5, 9], np.int32))],
             [Operand((2, 3, 4), "int32")]),
        Case("dus_f32_const_update", "dynamic_update_slice", [act((5, 4), "float32"),
                                                              const(rng.standard_normal((2, 4)).astype(np.float32)),
                                                              act((2,), "int32", gen=starts(-2, 6))],
             [Operand((5, 4), "float32")]),
        Case("dus_const_operand", "dynamic_update_slice", [const(rng.standard_normal((4, 4)).astype(np.float32)),
                                                           act((2, 1), "float32"), act((2,), "int64",
                                                                                         gen=starts(-2, 5, "int64"))],
             [Operand((4, 4), "float32")]),
        Case("dus_whole_int8", "dynamic_update_slice", [act((2, 3), "int8", i8), act((2, 3), "int8", i8),
                                                        act((2,), "int32", gen=starts(-3, 3))],
             [Operand((2, 3), "int8", i8)]),
        Case("dus_rank1_int32", "dynamic_update_slice", [act((9,), "int32"), act((4,), "int32"),
                                                         act((1,), "int32", gen=starts(-3, 10))],
             [Operand((9,), "int32")]),
        Case("dus_rank4_f32", "dynamic_update_slice", [act((2, 3, 4, 2), "float32"), act((1, 2, 3, 2), "float32"),
                                                       act((4,), "int32", gen=starts(-1, 4))],
             [Operand((2, 3, 4, 2), "float32")]),
    ]


def _sum_cases() -> list[Case]:
    qi, qo = q(0.05, -3), q(0.1, 2)
    out = [Case(f"add_n_int8_{k}", "add_n", [act((2, 3, 5), "int8", qi)] * k, [Operand((2, 3, 5), "int8", qo)])
           for k in (2, 3, 5)]
    out.append(Case("add_n_int8_saturating", "add_n", [act((4, 6), "int8", q(0.02, 100))] * 2,
                    [Operand((4, 6), "int8", q(0.015, -20))]))
    for j, (axis, exclusive, reverse) in enumerate(((1, False, False), (-1, True, False), (0, False, True),
                                                    (2, True, True))):
        out.append(Case(f"cumsum_int8_{j}", "cumsum", [act((3, 4, 5), "int8", q(0.05, 5))],
                        [Operand((3, 4, 5), "int8", q(0.3, -7))],
                        {"axis": axis, "exclusive": exclusive, "reverse": reverse}))
    return out


def _sub_cases(rng: np.random.Generator) -> list[Case]:
    qa, qb, qy = q(0.001), q(0.0015), q(0.002)
    return [
        Case("sub_int16", "sub", [act((2, 3, 4), "int16", qa), act((2, 3, 4), "int16", qb)],
             [Operand((2, 3, 4), "int16", qy)], {"activation": "none"}),
        Case("sub_int16_broadcast", "sub", [act((3, 1, 5), "int16", qa), act((1, 4, 1), "int16", qb)],
             [Operand((3, 4, 5), "int16", qy)], {"activation": "none"}),
        Case("sub_int16_const_relu", "sub", [act((4, 6), "int16", qa),
                                             const(rng.integers(-32768, 32768, (6,)).astype(np.int16), qb)],
             [Operand((4, 6), "int16", qy)], {"activation": "relu"}),
        Case("sub_int16_const_first", "sub", [const(rng.integers(-32768, 32768, (1, 5)).astype(np.int16), qb),
                                              act((3, 5), "int16", qa)], [Operand((3, 5), "int16", q(0.0005))],
             {"activation": "relu6"}),
    ]


def _gather_cases(rng: np.random.Generator) -> list[Case]:
    i8 = q(0.05, -3)
    table8 = rng.integers(-128, 128, (10, 4)).astype(np.int8)
    return [
        Case("gather_bd1_f32", "gather", [act((2, 5, 3), "float32"), act((2, 4), "int32", gen=indices((5,)))],
             [Operand((2, 4, 3), "float32")], {"axis": 1, "batch_dims": 1}),
        Case("gather_bd1_axis2_int8", "gather", [act((2, 3, 5), "int8", i8), act((2, 4), "int32", gen=indices((5,)))],
             [Operand((2, 3, 4), "int8", i8)], {"axis": 2, "batch_dims": 1}),
        Case("gather_bd2_f32", "gather", [act((2, 3, 6, 2), "float32"), act((2, 3, 4), "int32", gen=indices((6,)))],
             [Operand((2, 3, 4, 2), "float32")], {"axis": 2, "batch_dims": 2}),
        Case("gather_bd_neg_int8", "gather", [act((3, 4, 2), "int8", i8), act((3, 2), "int32", gen=indices((4,)))],
             [Operand((3, 2, 2), "int8", i8)], {"axis": -2, "batch_dims": -1}),
        Case("gather_bd1_const_idx", "gather", [act((2, 6), "float32"),
                                                const(np.array([[5, 0, 2], [1, 1, 4]], np.int32))],
             [Operand((2, 3), "float32")], {"axis": 1, "batch_dims": 1}),
        Case("embedding_hybrid", "embedding_lookup", [act((5,), "int32", gen=indices((10,))), const(table8, q(0.02))],
             [Operand((5, 4), "float32")]),
        Case("embedding_hybrid_3d", "embedding_lookup",
             [act((3,), "int32", gen=indices((6,))), const(rng.integers(-128, 128, (6, 2, 3)).astype(np.int8),
                                                           q(0.37))], [Operand((3, 2, 3), "float32")]),
        Case("embedding_hybrid_act", "embedding_lookup", [act((4,), "int32", gen=indices((5,))),
                                                          act((5, 3), "int8", q(0.125))], [Operand((4, 3), "float32")]),
    ]


def _cases() -> list[Case]:
    rng = np.random.default_rng(77)
    return (_reduce_all_cases() + _dus_cases(rng) + _sum_cases() + _sub_cases(rng) + _gather_cases(rng))


CASES = _cases()


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list[tuple[Case, object, list[np.ndarray]]]:
    folder = tmp_path_factory.mktemp("misc2")
    rng = np.random.default_rng(19)
    out, total = [], 0
    for case in CASES:
        graph, xs, n = compare(case, folder, rng)
        out.append((case, graph, xs))
        total += n
    print(f"{len(CASES)} cases, {N} inputs each, {total} output values byte-equal to TFLM")
    return out


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) >= 30


def test_generated_c_equals_reference(checked, tmp_path) -> None:
    graph = merge([g for _, g, _ in checked], "misc2")
    xs = [x for _, _, case_xs in checked for x in case_xs]
    plan = plan_memory(lower(graph))
    want = run_plan(plan, xs)
    exe = build(generate_into(plan, tmp_path, "misc2"), "gcc", SANITIZE, "san")
    for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True):
        assert got.tobytes() == want[name].tobytes(), name


def test_refusals() -> None:
    i8 = q(0.05, -3)
    per_row = const(np.ones((4, 3), np.int8), Quant(np.float32([0.1, 0.2, 0.3, 0.4]), np.int32([0, 0, 0, 0]), 0))
    bad = [
        Case("h", "embedding_lookup", [act((2,), "int32"), per_row], [Operand((2, 3), "float32")]),
        Case("z", "embedding_lookup", [act((2,), "int32"), const(np.ones((4, 3), np.int8), q(0.1, 3))],
             [Operand((2, 3), "float32")]),  # TFLM: zero point 0
        Case("n", "add_n", [act((1, 4), "int8", i8), act((1, 4), "int8", q(0.06, -3))], [Operand((1, 4), "int8", i8)]),
        Case("c", "cumsum", [act((1, 40), "int8", i8)], [Operand((1, 40), "int8", i8)], {"axis": 1}),  # int32 overflow
        Case("m", "add_n", [act((1, 4), "int8", q(1.0))] * 2, [Operand((1, 4), "int8", q(1e-7))]),  # multiplier >= 1
        Case("d", "dynamic_update_slice", [act((3, 4), "int16", q(0.1)), act((1, 2), "int16", q(0.1)),
                                           act((2,), "int32")], [Operand((3, 4), "int16", q(0.1))]),
        Case("e", "dynamic_update_slice", [act((3, 4), "int8", i8), act((1, 2), "int8", q(0.1)), act((2,), "int32")],
             [Operand((3, 4), "int8", i8)]),
        Case("f", "dynamic_update_slice", [act((3, 4), "float32"), act((1, 5), "float32"), act((2,), "int32")],
             [Operand((3, 4), "float32")]),
        Case("g", "gather", [act((2, 5), "float32"), act((3, 2), "int32")], [Operand((2, 2), "float32")],
             {"axis": 1, "batch_dims": 1}),  # leading dims differ
        Case("b", "gather", [act((2, 5, 3), "float32"), act((2, 5), "int32")], [Operand((2, 5, 3), "float32")],
             {"axis": 0, "batch_dims": 1}),  # batch_dims above the axis
        Case("r", "reduce_all", [act((2, 3), "float32")], [Operand((2,), "float32")], {"axes": (1,)}),
        Case("s", "sub", [act((1, 4), "int16", q(0.01)), act((1, 4), "int16", q(0.01))],
             [Operand((1, 4), "int16", q(1e-7))], {"activation": "none"}),  # multiplier >= 1
    ]
    for case in bad:
        with pytest.raises((GraphError, UnsupportedDtypeError)):
            case.graph()
