"""Data-movement ops and CAST (one strided-copy machinery, tinyc/ops/_movement.py): a single-op .tflite per op,
dtype and variant, written by tinyc's exporter and read back by its frontend; the reference runtime equals
TFLM byte for byte on N random inputs per case (full TFLite for TILE, which TFLM does not register), and the
generated C of all cases, merged into one library, equals the reference runtime under ASan/UBSan."""

from __future__ import annotations

import numpy as np
import pytest

from tests.single_op import Case, case_graph, check_against_tflm, merge, random_input, tflm_run
from tests.test_codegen import SANITIZE, build, generate_into, run_exe
from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.passes import fold_constants, fold_pad_into_conv
from tinyc.runtime import run_plan

N = 300  # random inputs per case


def _cases() -> list[Case]:
    i8, f32, i16, i32 = "int8", "float32", "int16", "int32"
    ss = {"begin_mask": 0, "end_mask": 0, "shrink_axis_mask": 0}
    out = []
    for t in (i8, f32):
        out += [
            Case(f"concat_{t}", "concatenation", [((1, 2, 3, 4), t), ((1, 2, 1, 4), t)], [((1, 2, 4, 4), t)],
                 {"axis": -2}),
            Case(f"concat_const_{t}", "concatenation",
                 [np.arange(8).astype(t).reshape(1, 2, 4), ((1, 3, 4), t), ((1, 1, 4), t)], [((1, 6, 4), t)],
                 {"axis": 1}),
            Case(f"concat_last_{t}", "concatenation", [((1, 5, 3), t), ((1, 5, 2), t)], [((1, 5, 5), t)], {"axis": 2}),
            Case(f"pack_{t}", "pack", [((2, 3), t)] * 3, [((2, 3, 3), t)], {"axis": -1}),
            Case(f"pack0_{t}", "pack", [((2, 3), t)] * 2, [((2, 2, 3), t)], {"axis": 0}),
            Case(f"unpack_{t}", "unpack", [((1, 3, 4), t)], [((1, 4), t)] * 3, {"axis": 1}),
            Case(f"slice_{t}", "slice", [((1, 5, 6, 3), t)], [((1, 2, 4, 3), t)],
                 {"begin": (0, 1, 2, 0), "size": (-1, 2, 4, -1)}),
            Case(f"ss_neg_{t}", "strided_slice", [((1, 6, 7, 3), t)], [((1, 3, 2), t)],
                 ss | {"begin": (0, -1, 1, 0), "end": (1, 0, 7, 3), "strides": (1, -2, 3, 1),
                       "shrink_axis_mask": 8}),
            Case(f"ss_masks_{t}", "strided_slice", [((2, 6, 5), t)], [((2, 2, 5), t)],
                 ss | {"begin": (1, 1, -9), "end": (0, 5, 3), "strides": (1, 2, 1), "begin_mask": 5,
                       "end_mask": 5}),
            Case(f"ss_shrink_{t}", "strided_slice", [((3, 8), t)], [((5,), t)],
                 ss | {"begin": (-1, 2), "end": (0, -1), "strides": (1, 1), "shrink_axis_mask": 1}),
            Case(f"split_{t}", "split", [((1, 4, 6), t)], [((1, 4, 2), t)] * 3, {"axis": -1}),
            Case(f"split_v_{t}", "split_v", [((1, 4, 6), t)], [((1, 1, 6), t), ((1, 3, 6), t)],
                 {"axis": 1, "size_splits": (1, -1)}),
            Case(f"gather_{t}", "gather", [((1, 5, 3), t), np.array([4, 0, 1, 2, 2], np.int32)], [((1, 5, 3), t)],
                 {"axis": 1}),
            Case(f"gather_2d_{t}", "gather", [((6, 4), t), np.array([[5, 1], [0, 3]], np.int32)],
                 [((2, 2, 4), t)], {"axis": 0}),
            Case(f"tile_{t}", "tile", [((1, 2, 3), t)], [((2, 2, 6), t)], {"multiples": (2, 1, 2)}, engine="litert"),
            Case(f"broadcast_to_{t}", "broadcast_to", [((1, 3, 1), t)], [((2, 1, 3, 4), t)]),
            Case(f"depth_to_space_{t}", "depth_to_space", [((1, 2, 3, 8), t)], [((1, 4, 6, 2), t)],
                 {"block_size": 2}),
            Case(f"space_to_depth_{t}", "space_to_depth", [((1, 6, 3, 2), t)], [((1, 2, 1, 18), t)],
                 {"block_size": 3}),
            Case(f"pad_{t}", "pad", [((1, 3, 4, 2), t)], [((1, 5, 7, 2), t)],
                 {"pads": ((0, 0), (1, 1), (2, 1), (0, 0))}),
            Case(f"pad_channels_{t}", "pad", [((1, 3, 2), t)], [((1, 3, 5), t)], {"pads": ((0, 0), (0, 0), (1, 2))}),
            Case(f"padv2_{t}", "pad", [((1, 3, 4), t)], [((2, 5, 7), t)],
                 {"pads": ((1, 0), (1, 1), (2, 1)), "value": 1.5 if t == f32 else 77}),
            Case(f"mirror_reflect_{t}", "mirror_pad", [((1, 3, 4, 2), t)], [((1, 7, 7, 2), t)],
                 {"pads": ((0, 0), (2, 2), (3, 0), (0, 0)), "mode": "reflect"}),
            Case(f"mirror_symmetric_{t}", "mirror_pad", [((1, 3, 4, 2), t)], [((1, 9, 8, 2), t)],
                 {"pads": ((0, 0), (3, 3), (0, 4), (0, 0)), "mode": "symmetric"}),
        ]
    out += [
        Case("ss_int32", "strided_slice", [((1, 9), i32)], [((4,), i32)],
             ss | {"begin": (0, 1), "end": (1, 9), "strides": (1, 2), "shrink_axis_mask": 1}),
        Case("concat_const_int32", "concatenation", [((1, 3), i32), np.array([[7, -8]], np.int32)], [((1, 5), i32)],
             {"axis": 1}),
        Case("concat_int16", "concatenation", [((2, 3), i16), ((1, 3), i16)], [((3, 3), i16)], {"axis": 0}),
        Case("split_int16", "split", [((4, 2), i16)], [((2, 2), i16)] * 2, {"axis": 0}),
        Case("pad_int16", "pad", [((1, 3), i16)], [((1, 6), i16)], {"pads": ((0, 0), (1, 2))}),
    ]
    for a, b in (("int8", "float32"), ("float32", "int32"), ("int16", "int32"), ("int32", "int8"),
                 ("uint32", "int32"), ("int32", "uint32"), ("int8", "int32"), ("int32", "float32")):
        out.append(Case(f"cast_{a}_{b}", "cast", [((1, 3, 5), a)], [((1, 3, 5), b)]))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list[tuple[Case, Graph]]:
    folder = tmp_path_factory.mktemp("movement")
    return [(c, check_against_tflm(c, folder, N, seed=k)[0]) for k, c in enumerate(CASES)]


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) >= 50  # each case compared byte for byte on N inputs inside check_against_tflm


def test_generated_c_equals_reference(checked, tmp_path) -> None:
    graph = merge([g for _, g in checked], "movement")
    plan = plan_memory(lower(graph))
    rng = np.random.default_rng(7)
    xs = [random_input(graph.tensor(n), 64, rng) for n in graph.inputs]
    want = run_plan(plan, xs)
    exe = build(generate_into(plan, tmp_path, "movement"), "gcc", SANITIZE, "san")
    for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True):
        assert got.tobytes() == want[name].tobytes(), name


def test_identity_moves_alias() -> None:
    """A slice or pad that moves nothing is an alias of its input: no code, one buffer."""
    for case in (Case("s", "slice", [((1, 4), "int8")], [((1, 4), "int8")], {"begin": (0, 0), "size": (-1, -1)}),
                 Case("p", "pad", [((1, 4), "float32")], [((1, 4), "float32")], {"pads": ((0, 0), (0, 0))})):
        plan = plan_memory(lower(case_graph(case)))
        assert [s.alias for s in plan.steps] == [True]


def test_constants_folded(tmp_path) -> None:
    """SHAPE -> CAST -> RESHAPE and ZEROS_LIKE fold to constants that CONCATENATION takes beside the activation;
    the result equals TFLM, which computes them at run time. FILL (a scalar value TFLM wants at rank 0, which
    the IR does not have) folds too."""
    g = Graph("folded")
    for name, shape, dtype, data in (("x", (1, 4), "float32", None), ("s", (2,), "int32", None),
                                     ("sf", (2,), "float32", None), ("sr", (1, 2), "float32", None),
                                     ("z", (1, 4), "float32", None), ("y", (1, 10), "float32", None)):
        g.add_tensor(Tensor(name, shape, dtype, data=data))
    g.inputs, g.outputs = ["x"], ["y"]
    g.nodes = [Node("shape", "shape_0", ["x"], ["s"]), Node("cast", "cast_1", ["s"], ["sf"]),
               Node("reshape", "reshape_2", ["sf"], ["sr"]), Node("zeros_like", "zeros_like_3", ["x"], ["z"]),
               Node("concatenation", "concatenation_4", ["x", "sr", "z"], ["y"], {"axis": 1})]
    path = tmp_path / "folded.tflite"
    write_tflite(g, path)
    graph = load_model(path)
    assert [n.op for n in graph.nodes] == ["concatenation"]
    x = np.random.default_rng(0).standard_normal((20, 1, 4)).astype(np.float32)
    got = run_plan(plan_memory(lower(graph)), [x])["y"]
    assert got.tobytes() == tflm_run(path, [x], 1)[0].tobytes()
    assert np.array_equal(got[0, 0, 4:], [1, 4, 0, 0, 0, 0])

    g.add_tensor(Tensor("dims", (2,), "int32", data=np.array([1, 4], np.int32)))
    g.add_tensor(Tensor("v", (1,), "float32", data=np.array([2.5], np.float32)))
    g.nodes[3] = Node("fill", "fill_3", ["dims", "v"], ["z"])
    assert fold_constants(g) == 4 and np.array_equal(g.tensor("z").data, np.full((1, 4), 2.5, np.float32))


def test_refusals() -> None:
    from tinyc.errors import GraphError

    bad = [Case("e", "strided_slice", [((1, 4), "int8")], [((1, 4), "int8")],
                {"begin": (0, 0), "end": (1, 4), "strides": (1, 1), "ellipsis_mask": 1}),
           Case("m", "mirror_pad", [((1, 2), "float32")], [((1, 6), "float32")],
                {"pads": ((0, 0), (2, 2)), "mode": "reflect"}),
           Case("g", "gather", [((1, 3), "float32"), np.array([3], np.int32)], [((1, 1), "float32")], {"axis": 1})]
    for case in bad:
        with pytest.raises(GraphError):
            case_graph(case)


@pytest.mark.parametrize("op", ["conv2d", "depthwise_conv2d"])
def test_zero_point_pad_folds_into_conv(op: str, tmp_path) -> None:
    """PAD (H/W, the zero point) -> CONV_2D / DEPTHWISE_CONV_2D: the pass moves the pad into the conv's explicit
    pads (asymmetric, wider than the kernel allows with SAME), and the folded plan still equals TFLM, in the
    reference runtime and in the C."""
    rng = np.random.default_rng(3)
    g = Graph(f"pad_{op}")
    qx = Quant(np.float32([0.05]), np.int32([-3]))
    c_out = 4 if op == "conv2d" else 3
    w_shape = (c_out, 3, 3, 3) if op == "conv2d" else (1, 3, 3, 3)
    w_scale = np.float32(rng.uniform(0.002, 0.01, c_out))
    g.add_tensor(Tensor("x", (1, 5, 6, 3), "int8", qx))
    g.add_tensor(Tensor("xp", (1, 8, 7, 3), "int8", qx))
    g.add_tensor(Tensor("w", w_shape, "int8", Quant(w_scale, np.zeros(c_out, np.int32), 0 if op == "conv2d" else 3),
                        rng.integers(-127, 128, w_shape).astype(np.int8)))
    g.add_tensor(Tensor("b", (c_out,), "int32", Quant(w_scale * np.float32(0.05), np.zeros(c_out, np.int32), 0),
                        rng.integers(-500, 500, c_out).astype(np.int32)))
    g.add_tensor(Tensor("y", (1, 6, 5, c_out), "int8", Quant(np.float32([0.08]), np.int32([2]))))
    attrs = {"stride": (1, 1), "dilation": (1, 1), "pads": (0, 0, 0, 0), "activation": "none"}
    if op == "depthwise_conv2d":
        attrs["depth_multiplier"] = 1
    g.nodes = [Node("pad", "pad_0", ["x"], ["xp"], {"pads": ((0, 0), (2, 1), (0, 1), (0, 0))}),
               Node(op, f"{op}_1", ["xp", "w", "b"], ["y"], attrs)]
    g.inputs, g.outputs = ["x"], ["y"]
    path = tmp_path / "pad_conv.tflite"
    write_tflite(g, path)
    graph = load_model(path)
    assert fold_pad_into_conv(graph) == 1 and [n.op for n in graph.nodes] == [op]
    assert graph.nodes[0].attrs["pads"] == (2, 0, 1, 1)
    x = random_input(graph.tensor("x"), N, rng)
    plan = plan_memory(lower(graph))
    got = run_plan(plan, [x])["y"]
    assert got.tobytes() == tflm_run(path, [x], 1)[0].tobytes()
    exe = build(generate_into(plan, tmp_path, "padconv"), "gcc", SANITIZE, "san")
    assert run_exe(exe, graph, [x])[0].tobytes() == got.tobytes()
