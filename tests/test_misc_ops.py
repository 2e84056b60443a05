"""The remaining TFLM builtins: comparisons, LOGICAL_AND/OR/NOT, SELECT_V2, FLOOR/CEIL/ROUND, SIN/COS, SQUARE,
FLOOR_DIV/FLOOR_MOD, REVERSE_V2, SPACE_TO_BATCH_ND/BATCH_TO_SPACE_ND, GATHER with run-time indices, GATHER_ND,
EMBEDDING_LOOKUP, ADD_N, CUMSUM. A single-op .tflite per op, dtype and variant (broadcasting, constant operands,
quantizations, axes, pads/crops, exclusive/reverse), written by tinyc's exporter and read back by its frontend. The
reference runtime equals TFLM byte for byte on N random inputs per case (LiteRT where TFLM has no kernel or an
undefined result: padded int8 SPACE_TO_BATCH_ND, int16 / int64-index GATHER); the generated C of all cases, merged
into one library and built under ASan/UBSan with -Werror, equals the reference runtime on the same inputs.

SIN and COS: TFLM calls libm, tinyc computes its own deterministic Cephes sinf/cosf (the same bits on every
target), so those cases state how far from TFLM they are (ULP_BOUND, measured; the printed line counts the
byte-equal values) instead of being byte-equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.single_op import litert_run, merge, tflm_run
from tests.test_codegen import SANITIZE, build, generate_into, run_exe
from tests.test_elementwise_ops import ulp_distance
from tinyc.errors import GraphError, UnsupportedDtypeError
from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N = 300  # random inputs per case
# ulp between tinyc's sinf/cosf and glibc's over the cases' inputs (|x| <= 100; values near a zero of sin/cos
# are where the distance in ulp is largest, the absolute difference stays below 1e-7 there)
ULP_BOUND = {"sin": 1, "cos": 1}
Gen = Callable[[tuple, int, np.random.Generator], np.ndarray]


def q(scale: float, zp: int = 0) -> Quant:
    return Quant(np.float32([scale]), np.int32([zp]))


@dataclass
class Operand:
    shape: tuple
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = None  # a constant
    gen: Gen | None = None  # how to draw the activation's values (default: the dtype's full range)


@dataclass
class Case:
    id: str
    op: str
    inputs: list[Operand]
    outputs: list[Operand]
    attrs: dict = field(default_factory=dict)
    engine: str = "tflm"  # "litert" where TFLM's result is not defined (padded SPACE_TO_BATCH_ND)

    def graph(self) -> Graph:
        g = Graph(self.op, source=f"{self.id} (single-op test)")
        for k, o in enumerate(self.inputs):
            g.add_tensor(Tensor(f"x{k}", o.shape, o.dtype, o.quant, o.data))
            if o.data is None:
                g.inputs.append(f"x{k}")
        for k, o in enumerate(self.outputs):
            g.add_tensor(Tensor(f"y{k}", o.shape, o.dtype, o.quant))
            g.outputs.append(f"y{k}")
        g.nodes.append(Node(self.op, f"{self.op}_0", [f"x{k}" for k in range(len(self.inputs))], list(g.outputs),
                            dict(self.attrs)))
        g.verify()
        return g

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        return [(o.gen or gen_for(o.dtype))(o.shape, N, rng) for o in self.inputs if o.data is None]


def gen_for(dtype: str) -> Gen:
    if dtype == "bool":
        return lambda s, n, rng: rng.integers(0, 2, size=(n, *s)).astype(np.bool_)
    if dtype == "float32":
        return lambda s, n, rng: floats(s, n, rng, -8.0, 8.0)
    info = np.iinfo(np.dtype(dtype))

    def draw(s: tuple, n: int, rng: np.random.Generator) -> np.ndarray:
        x = rng.integers(info.min, info.max, size=(n, *s), endpoint=True, dtype=np.dtype(dtype))
        if dtype in ("int8", "int16"):
            return x
        small = rng.integers(-4, 5, size=(n, *s)).astype(np.dtype(dtype))  # ties between operands
        return np.where(rng.random((n, *s)) < 0.5, small, x)
    return draw


def floats(s: tuple, n: int, rng: np.random.Generator, lo: float, hi: float, step: float = 0.0) -> np.ndarray:
    """Uniform in [lo, hi]; half of them on a grid of `step` (ties, halves, integers) when step is set;
    record 0 holds +-0, the bounds and +-1 (where they fit)."""
    x = rng.uniform(lo, hi, size=(n, *s)).astype(np.float32)
    if step:
        grid = (np.round(x / step) * step).astype(np.float32)
        x = np.where(rng.random(x.shape) < 0.5, grid, x)
    special = np.float32([0.0, -0.0, lo, hi, 1.0, -1.0])
    special = special[(special >= lo) & (special <= hi)]
    flat = x.reshape(n, -1)
    flat[0, :min(special.size, flat.shape[1])] = special[:flat.shape[1]]
    return x


def nonzero(lo: float, hi: float) -> Gen:
    def draw(s: tuple, n: int, rng: np.random.Generator) -> np.ndarray:
        x = floats(s, n, rng, lo, hi, 0.25)
        return np.where(x == 0, np.float32(0.75), x).astype(np.float32)
    return draw


def act(shape: tuple, dtype: str, quant: Quant | None = None, gen: Gen | None = None) -> Operand:
    return Operand(shape, dtype, quant, gen=gen or gen_for(dtype))


def const(data: np.ndarray, quant: Quant | None = None) -> Operand:
    return Operand(data.shape, str(data.dtype), quant, data)


BROADCASTS = [((2, 3, 4), (2, 3, 4), (2, 3, 4)), ((1, 4, 5), (5,), (1, 4, 5)), ((3, 1, 2), (1, 4, 1), (3, 4, 2)),
              ((6,), (2, 3, 6), (2, 3, 6))]
COMPARISONS = ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal")


def _comparison_cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for k, op in enumerate(COMPARISONS):
        dtypes = ["float32", "int32", "int64", "int8"] + (["bool"] if op in ("equal", "not_equal") else [])
        for j, dt in enumerate(dtypes):
            a_shape, b_shape, y_shape = BROADCASTS[(k + j) % len(BROADCASTS)]
            qa = qb = None
            if dt == "int8":
                qa, qb = q(0.05, -3), q(0.08, 7)
            gen = gen_for(dt)
            if dt == "float32":
                def gen(s, n, rng):  # noqa: ANN001, ANN202  (ties: values on a coarse grid)
                    return floats(s, n, rng, -3.0, 3.0, 0.5)
            b = act(b_shape, dt, qb, gen)
            if (k + j) % 3 == 2:  # a constant operand
                b = const(gen(b_shape, 1, rng)[0], qb)
            out.append(Case(f"{op}_{dt}_{j}", op, [act(a_shape, dt, qa, gen), b], [Operand(y_shape, "bool")]))
    # int8 with the same scale and zero point (what converters write), rescaled anyway
    out.append(Case("greater_int8_same_q", "greater", [act((1, 40), "int8", q(0.5, 0)), act((1, 40), "int8",
                                                        q(0.5, 0))], [Operand((1, 40), "bool")]))
    return out


def _logical_cases() -> list[Case]:
    out = []
    for op in ("logical_and", "logical_or"):
        for j, (a, b, y) in enumerate(BROADCASTS[:3]):
            out.append(Case(f"{op}_{j}", op, [act(a, "bool"), act(b, "bool")], [Operand(y, "bool")]))
    out.append(Case("logical_or_const", "logical_or", [act((2, 5), "bool"), const(np.array([True, False] * 2 +
                                                                                          [False], bool))],
                    [Operand((2, 5), "bool")]))
    out.append(Case("logical_not", "logical_not", [act((3, 7), "bool")], [Operand((3, 7), "bool")]))
    return out


def _float_unary_cases() -> list[Case]:
    out = []
    for op, lo, hi, step in (("floor", -50.0, 50.0, 0.5), ("ceil", -50.0, 50.0, 0.5), ("round", -20.0, 20.0, 0.5),
                             ("round", -1e7, 1e7, 0.5), ("square", -1e19, 1e19, 0.0), ("square", -3.0, 3.0, 0.0),
                             ("sin", -100.0, 100.0, 0.0), ("sin", -4.0, 4.0, 0.0), ("cos", -100.0, 100.0, 0.0),
                             ("cos", -4.0, 4.0, 0.0)):
        shape = (1, 7, 9)

        def gen(s, n, rng, lo=lo, hi=hi, step=step):  # noqa: ANN001, ANN202
            return floats(s, n, rng, lo, hi, step)
        out.append(Case(f"{op}_{lo:g}_{hi:g}", op, [act(shape, "float32", gen=gen)], [Operand(shape, "float32")]))
    return out


def _floor_div_mod_cases() -> list[Case]:
    out = []
    for op in ("floor_div", "floor_mod"):
        for j, (a, b, y) in enumerate(BROADCASTS[:3]):
            out.append(Case(f"{op}_{j}", op, [act(a, "float32", gen=nonzero(-20.0, 20.0)),
                                              act(b, "float32", gen=nonzero(-6.0, 6.0))], [Operand(y, "float32")]))
        out.append(Case(f"{op}_const", op, [act((4, 6), "float32", gen=nonzero(-1e6, 1e6)),
                                            const(np.float32([2.5, -3.0, 0.1, -7.25, 1e-3, 4.0]))],
                        [Operand((4, 6), "float32")]))
    return out


def _select_cases(rng: np.random.Generator) -> list[Case]:
    out = []
    shapes = [((2, 3, 4), (2, 3, 4), (2, 3, 4), (2, 3, 4)), ((1, 4, 1), (3, 1, 5), (5,), (3, 4, 5)),
              ((6,), (2, 6), (1, 1), (2, 6))]
    for k, dt in enumerate(("float32", "int8", "int16", "float32")):
        c, x, y, o = shapes[k % len(shapes)]
        qx = q(0.05, -3) if dt == "int8" else q(0.001) if dt == "int16" else None
        ys = act(y, dt, qx) if k % 2 == 0 else const(gen_for(dt)(y, 1, rng)[0], qx)
        out.append(Case(f"select_v2_{dt}_{k}", "select_v2", [act(c, "bool"), act(x, dt, qx), ys], [Operand(o, dt, qx)]))
    out.append(Case("select_v2_const_cond", "select_v2", [const(np.array([[True], [False], [True]])),
                                                          act((3, 4), "float32"), act((1, 4), "float32")],
                    [Operand((3, 4), "float32")]))
    return out


def _block_cases() -> list[Case]:
    out = []
    for dt, qx in (("float32", None), ("int8", q(0.05, -3))):
        # TFLM pads SPACE_TO_BATCH_ND with a field it never sets (arena garbage, seen for int8 and float32 alike in
        # a fresh process): padded cases are compared with LiteRT, which pads with the zero point
        padded = "litert"
        out += [
            Case(f"reverse_1_{dt}", "reverse_v2", [act((2, 3, 4), dt, qx)], [Operand((2, 3, 4), dt, qx)],
                 {"axes": (1,)}),
            Case(f"reverse_neg_{dt}", "reverse_v2", [act((1, 5, 3), dt, qx)], [Operand((1, 5, 3), dt, qx)],
                 {"axes": (-1,)}),
            Case(f"s2b_{dt}", "space_to_batch_nd", [act((1, 4, 6, 3), dt, qx)], [Operand((4, 2, 3, 3), dt, qx)],
                 {"block_shape": (2, 2), "pads": ((0, 0), (0, 0))}),
            Case(f"s2b_pad_{dt}", "space_to_batch_nd", [act((2, 5, 4, 2), dt, qx)], [Operand((12, 3, 2, 2), dt, qx)],
                 {"block_shape": (3, 2), "pads": ((3, 1), (0, 0))}, padded),
            Case(f"s2b_3d_{dt}", "space_to_batch_nd", [act((1, 5, 2), dt, qx)], [Operand((2, 4, 2), dt, qx)],
                 {"block_shape": (2,), "pads": ((2, 1),)}, padded),
            Case(f"b2s_{dt}", "batch_to_space_nd", [act((4, 2, 3, 3), dt, qx)], [Operand((1, 4, 6, 3), dt, qx)],
                 {"block_shape": (2, 2), "crops": ((0, 0), (0, 0))}),
            Case(f"b2s_crop_{dt}", "batch_to_space_nd", [act((12, 3, 2, 2), dt, qx)],
                 [Operand((2, 5, 3, 2), dt, qx)], {"block_shape": (3, 2), "crops": ((3, 1), (0, 1))}),
            Case(f"b2s_3d_{dt}", "batch_to_space_nd", [act((2, 4, 2), dt, qx)], [Operand((1, 5, 2), dt, qx)],
                 {"block_shape": (2,), "crops": ((2, 1),)}),
        ]
    out.append(Case("reverse_int16", "reverse_v2", [act((4, 3), "int16", q(0.001))],
                    [Operand((4, 3), "int16", q(0.001))], {"axes": (0,)}))
    out.append(Case("reverse_2_axes_int32", "reverse_v2", [act((3, 4, 2), "int32")], [Operand((3, 4, 2), "int32")],
                    {"axes": (1, 2)}))
    return out


def indices(limit: tuple[int, ...], dtype: str = "int32") -> Gen:
    """Valid indices (TFLM stops with an error on others): the last dimension's entries below limit[j]."""
    def draw(s: tuple, n: int, rng: np.random.Generator) -> np.ndarray:
        hi = np.array(limit).reshape((1,) * len(s) + (-1,))[..., : s[-1]] if len(limit) > 1 else limit[0]
        return (rng.random((n, *s)) * hi).astype(dtype)
    return draw


def _gather_cases(rng: np.random.Generator) -> list[Case]:
    table = rng.standard_normal((10, 4)).astype(np.float32)
    table8 = rng.integers(-128, 128, (7, 3, 2)).astype(np.int8)
    i8 = q(0.05, -3)
    return [
        Case("gather_dyn_f32", "gather", [act((2, 5, 3), "float32"), act((4,), "int32", gen=indices((5,)))],
             [Operand((2, 4, 3), "float32")], {"axis": 1}),
        Case("gather_dyn_2d_int8", "gather", [act((6, 4), "int8", i8), act((2, 3), "int32", gen=indices((6,)))],
             [Operand((2, 3, 4), "int8", i8)], {"axis": 0}),
        Case("gather_dyn_last_int16", "gather", [act((3, 7), "int16", q(0.001)),
                                                 act((5,), "int32", gen=indices((7,)))],
             [Operand((3, 5), "int16", q(0.001))], {"axis": -1}, "litert"),  # TFLM's GATHER has no int16
        Case("gather_dyn_const_table", "gather", [const(table), act((3,), "int32", gen=indices((10,)))],
             [Operand((3, 4), "float32")], {"axis": 0}),
        Case("gather_dyn_int64_idx", "gather", [act((4, 6), "int32"), act((3,), "int64", gen=indices((6,), "int64"))],
             [Operand((4, 3), "int32")], {"axis": 1}, "litert"),  # TFLM takes int32 positions only
        Case("gather_nd_f32", "gather_nd", [act((4, 5, 3), "float32"), act((6, 2), "int32", gen=indices((4, 5)))],
             [Operand((6, 3), "float32")]),
        Case("gather_nd_int8", "gather_nd", [act((4, 5, 3), "int8", i8), act((2, 3, 1), "int32", gen=indices((4,)))],
             [Operand((2, 3, 5, 3), "int8", i8)]),
        Case("gather_nd_scalars", "gather_nd", [act((3, 4, 2), "float32"),
                                                act((5, 3), "int32", gen=indices((3, 4, 2)))],
             [Operand((5,), "float32")]),
        Case("embedding_f32", "embedding_lookup", [act((5,), "int32", gen=indices((10,))), const(table)],
             [Operand((5, 4), "float32")]),
        Case("embedding_int8", "embedding_lookup", [act((3,), "int32", gen=indices((7,))), const(table8, i8)],
             [Operand((3, 3, 2), "int8", i8)]),
        Case("embedding_act_f32", "embedding_lookup", [act((4,), "int32", gen=indices((6,))),
                                                       act((6, 3), "float32")], [Operand((4, 3), "float32")]),
    ]


def _sum_cases() -> list[Case]:
    out = [Case(f"add_n_{k}", "add_n", [act((2, 3, 5), "float32")] * k, [Operand((2, 3, 5), "float32")])
           for k in (2, 4)]
    for j, (axis, exclusive, reverse) in enumerate(((1, False, False), (-1, True, False), (0, False, True),
                                                    (2, True, True))):
        out.append(Case(f"cumsum_{j}", "cumsum", [act((3, 4, 5), "float32")], [Operand((3, 4, 5), "float32")],
                        {"axis": axis, "exclusive": exclusive, "reverse": reverse}))
    return out


def _cases() -> list[Case]:
    rng = np.random.default_rng(2024)
    return (_comparison_cases(rng) + _logical_cases() + _float_unary_cases() + _floor_div_mod_cases()
            + _select_cases(rng) + _block_cases() + _gather_cases(rng) + _sum_cases())


CASES = _cases()


def compare(case: Case, folder: Path, rng: np.random.Generator) -> tuple[Graph, list[np.ndarray], int]:
    """The reference runtime vs TFLM on the case's inputs; returns the graph read back, the inputs and the
    number of values compared."""
    path = folder / f"{case.id}.tflite"
    write_tflite(case.graph(), path)
    graph = load_model(path)
    xs = case.draw(rng)
    want = (litert_run if case.engine == "litert" else tflm_run)(path, xs, len(graph.outputs))
    got = run_plan(plan_memory(lower(graph)), xs)
    compared = 0
    for name, w in zip(graph.outputs, want, strict=True):
        g = got[name]
        assert g.dtype == w.dtype and g.size == w.size, f"{case.id}: {g.dtype}{g.shape} vs TFLM {w.dtype}{w.shape}"
        g, w = g.reshape(N, -1), w.reshape(N, -1)
        compared += g.size
        if case.op in ULP_BOUND:
            ulp = ulp_distance(g, w)
            print(f"{case.id}: {int(np.count_nonzero(ulp == 0))}/{ulp.size} values byte-equal to TFLM's libm, "
                  f"max {int(ulp.max())} ulp, max |diff| {float(np.max(np.abs(g - w))):.3g}")
            assert ulp.max() <= ULP_BOUND[case.op], f"{case.id}: {int(ulp.max())} ulp from TFLM"
        else:
            bad = np.flatnonzero(np.any(g.view(np.uint8) != w.view(np.uint8), axis=1))
            assert bad.size == 0, f"{case.id}: output '{name}' differs from TFLM on inputs {bad[:10]}"
    return graph, xs, compared


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list[tuple[Case, Graph, list[np.ndarray]]]:
    folder = tmp_path_factory.mktemp("misc")
    rng = np.random.default_rng(12)
    out, total = [], 0
    for case in CASES:
        graph, xs, n = compare(case, folder, rng)
        out.append((case, graph, xs))
        total += n
    print(f"{len(CASES)} cases ({sum(c.engine == 'litert' for c in CASES)} vs LiteRT), {N} inputs each, {total} "
          "output values compared")
    return out


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) >= 50


def test_generated_c_equals_reference(checked, tmp_path) -> None:
    graph = merge([g for _, g, _ in checked], "misc")
    xs = [x for _, _, case_xs in checked for x in case_xs]
    plan = plan_memory(lower(graph))
    want = run_plan(plan, xs)
    exe = build(generate_into(plan, tmp_path, "misc"), "gcc", SANITIZE, "san")
    for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True):
        assert got.tobytes() == want[name].tobytes(), name


def test_refusals() -> None:
    bad = [  # quantizations, dtypes and axes TFLM refuses
        Case("s", "greater", [act((1, 4), "int8", q(1.5)), act((1, 4), "int8", q(0.5))], [Operand((1, 4), "bool")]),
        Case("d", "floor_div", [act((1, 4), "int8", q(0.5)), act((1, 4), "int8", q(0.5))],
             [Operand((1, 4), "int8", q(0.5))]),
        Case("b", "greater", [act((1, 4), "bool"), act((1, 4), "bool")], [Operand((1, 4), "bool")]),
        Case("n", "add_n", [act((1, 4), "int32")] * 2, [Operand((1, 4), "int32")]),  # TFLM: float32, int8
        Case("c", "cumsum", [act((1, 4), "int32")], [Operand((1, 4), "int32")], {"axis": 1}),
        Case("i", "greater", [act((1, 4), "int16", q(0.01)), act((1, 4), "int16", q(0.01))],
             [Operand((1, 4), "bool")]),
        Case("r", "reverse_v2", [act((3, 4, 2), "int8", q(0.1))], [Operand((3, 4, 2), "int8", q(0.1))],
             {"axes": (0, 2)}),  # TFLM (and LiteRT) reverse contiguous axes only
        Case("s", "space_to_batch_nd", [act((1, 4, 4, 1), "int16", q(0.1))], [Operand((4, 2, 2, 1), "int16", q(0.1))],
             {"block_shape": (2, 2), "pads": ((0, 0), (0, 0))}),  # TFLM: float32 and int8 only
    ]
    for case in bad:
        with pytest.raises((GraphError, UnsupportedDtypeError)):
            case.graph()


def test_broadcast_args_folds() -> None:
    """BROADCAST_ARGS of shapes known at compile time folds to numpy's broadcast shape (TFLM's rule); one of run-time
    shapes is refused with a GraphError naming the node. (A TFLM comparison needs a consumer of the shape in tinyc's
    IR: FILL's dtype pairs do not take int32 dims beside a float value at present.)"""
    from tinyc.passes import fold_constants

    def graph(a: list[int], b: list[int], const_a: bool = True) -> Graph:
        g = Graph("bargs")
        g.add_tensor(Tensor("a", (len(a),), "int32", data=np.array(a, np.int32) if const_a else None))
        g.add_tensor(Tensor("b", (len(b),), "int32", data=np.array(b, np.int32)))
        g.add_tensor(Tensor("t", (len(np.broadcast_shapes(tuple(a), tuple(b))),), "int32"))
        g.add_tensor(Tensor("x", (1,), "float32"))
        g.add_tensor(Tensor("y", (1,), "float32"))
        g.inputs, g.outputs = ["x"] + ([] if const_a else ["a"]), ["y"]
        g.nodes = [Node("broadcast_args", "bargs_0", ["a", "b"], ["t"]), Node("neg", "neg_1", ["x"], ["y"])]
        return g

    for a, b in (([1, 3, 1], [2, 1, 4]), ([5], [4, 1, 1]), ([2, 1], [1])):
        g = graph(a, b)
        assert fold_constants(g) == 1 and g.tensor("t").data.tolist() == list(np.broadcast_shapes(tuple(a), tuple(b)))
    with pytest.raises(GraphError, match="bargs_0"):
        lower(graph([1, 3], [2, 1], const_a=False))
