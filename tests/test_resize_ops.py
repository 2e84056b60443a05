"""RESIZE_NEAREST_NEIGHBOR (int8, int16, float32), RESIZE_BILINEAR (int8, float32) and L2_POOL_2D (float32): a
single-op .tflite per op, dtype and variant (up- and downscaling by integer and other factors, align_corners,
half_pixel_centers, unit sizes, batches; pool windows, strides, SAME/VALID, fused activations), written by
tinyc's exporter; the reference runtime equals TFLM byte for byte on N random inputs per case (float inputs
include +-3e38, subnormals and +-0), and the generated C of all cases, merged into one library, equals the
reference runtime under ASan/UBSan."""

from __future__ import annotations

import numpy as np
import pytest

from tests.single_op import Case, case_graph, check_against_tflm, merge, random_input
from tests.test_codegen import SANITIZE, build, generate_into, run_exe
from tinyc.errors import GraphError, UnsupportedDtypeError
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.ops._common import same_padding
from tinyc.runtime import run_plan

N = 300  # random inputs per case
GEOMETRIES = [  # (input N, H, W, C), output (H, W), id
    ((1, 3, 4, 3), (6, 8), "up2"),
    ((1, 3, 5, 2), (5, 7), "up_odd"),
    ((1, 6, 8, 3), (3, 4), "down2"),
    ((1, 7, 9, 2), (3, 4), "down_odd"),
    ((2, 4, 3, 2), (7, 5), "batch2"),
    ((1, 1, 5, 2), (4, 5), "from_one"),
    ((1, 5, 6, 2), (1, 3), "to_one"),
]
FLAGS = {"": (False, False), "_align": (True, False), "_half": (False, True)}


def _resize_cases() -> list[Case]:
    out = []
    for op, dtypes in (("resize_nearest_neighbor", ("int8", "int16", "float32")),
                       ("resize_bilinear", ("int8", "float32"))):
        flags = FLAGS | ({"_align_half": (True, True)} if op == "resize_nearest_neighbor" else {})
        for t in dtypes:
            for shape, size, gid in GEOMETRIES:
                for fid, (align, half) in flags.items():
                    out.append(Case(f"{op}_{gid}{fid}_{t}", op, [(shape, t)], [((shape[0], *size, shape[3]), t)],
                                    {"size": size, "align_corners": align, "half_pixel_centers": half}))
    return out


def _pool_case(cid: str, shape: tuple, k: tuple, stride: tuple, same: bool, act: str = "none") -> Case:
    if same:
        top, bottom = same_padding(shape[1], k[0], stride[0], 1)
        left, right = same_padding(shape[2], k[1], stride[1], 1)
    else:
        top = bottom = left = right = 0
    oh = (shape[1] + top + bottom - k[0]) // stride[0] + 1
    ow = (shape[2] + left + right - k[1]) // stride[1] + 1
    return Case(cid, "l2_pool2d", [(shape, "float32")], [((shape[0], oh, ow, shape[3]), "float32")],
                {"kernel": k, "stride": stride, "pads": (top, left, bottom, right), "activation": act})


CASES = _resize_cases() + [
    _pool_case("l2_2x2_valid", (1, 6, 8, 3), (2, 2), (2, 2), False),
    _pool_case("l2_3x3_same", (1, 5, 7, 2), (3, 3), (1, 1), True),
    _pool_case("l2_3x2_same_s21", (1, 7, 5, 3), (3, 2), (2, 1), True, "relu6"),
    _pool_case("l2_relu_n1", (1, 4, 4, 2), (2, 3), (1, 2), True, "relu_n1_to_1"),
    _pool_case("l2_batch2_relu", (2, 5, 5, 2), (5, 5), (1, 1), True, "relu"),
    _pool_case("l2_global", (1, 4, 6, 4), (4, 6), (1, 1), False),
]
SPECIAL = np.float32([3e38, -3e38, 1e-40, -1e-45, 0.0, -0.0, 1.17549435e-38, 1e19, -2e19, 1.0])


def _with_extremes(xs: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Float batches: records 0-9 drawn from SPECIAL, records 10-19 scaled by 1e30 and 1e-30."""
    out = []
    for x in xs:
        if x.dtype == np.float32:
            x = x.copy()
            x[:10] = rng.choice(SPECIAL, size=x[:10].shape)
            x[10:15] *= np.float32(1e30)
            x[15:20] *= np.float32(1e-30)
        out.append(x)
    return out


@pytest.fixture(scope="module")
def checked(tmp_path_factory, monkeypatch_module) -> list:
    folder = tmp_path_factory.mktemp("resize")
    return [(c, check_against_tflm(c, folder, N, seed=k)[0]) for k, c in enumerate(CASES)]


@pytest.fixture(scope="module")
def monkeypatch_module():
    """check_against_tflm draws its inputs with single_op.random_input: give the float ones extremes too."""
    import tests.single_op as single_op

    plain = single_op.random_input
    mp = pytest.MonkeyPatch()
    mp.setattr(single_op, "random_input", lambda t, n, rng: _with_extremes([plain(t, n, rng)], rng)[0])
    yield
    mp.undo()


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) >= 100  # each case compared byte for byte on N inputs in check_against_tflm


def test_integer_scaling_is_a_block_copy(checked) -> None:
    kernels = {c.id: lower(g).steps[0].kernel for c, g in checked}
    assert kernels["resize_nearest_neighbor_up2_int8"] == kernels["resize_nearest_neighbor_down2_half_float32"] \
        == "copy"
    assert kernels["resize_nearest_neighbor_up_odd_int8"] == "resize_nearest"


def test_generated_c_equals_reference(checked, tmp_path) -> None:
    graph = merge([g for _, g in checked], "resize")
    plan = plan_memory(lower(graph))
    rng = np.random.default_rng(11)
    xs = _with_extremes([random_input(graph.tensor(n), 64, rng) for n in graph.inputs], rng)
    want = run_plan(plan, xs)
    exe = build(generate_into(plan, tmp_path, "resize"), "gcc", SANITIZE, "san")
    for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True):
        assert got.tobytes() == want[name].tobytes(), name


@pytest.mark.parametrize(("case", "error", "match"), [
    (Case("both", "resize_bilinear", [((1, 2, 2, 1), "int8")], [((1, 4, 4, 1), "int8")],
          {"size": (4, 4), "align_corners": True, "half_pixel_centers": True}), GraphError, "cannot both"),
    (Case("quant", "resize_nearest_neighbor", [((1, 2, 2, 1), "int8")], [((1, 4, 4, 1), "int8")],
          {"size": (4, 4)}, quant_out=(0.1, 0)), GraphError, "equal input and output"),
    (Case("shape", "resize_bilinear", [((1, 2, 2, 1), "float32")], [((1, 4, 3, 1), "float32")],
          {"size": (4, 4)}), GraphError, "is not"),
    (Case("far", "resize_bilinear", [((1, 1, 1, 1), "int8")], [((1, 1, 2000, 1), "int8")],
          {"size": (1, 2000)}), GraphError, "reads outside"),
    (Case("int16", "resize_bilinear", [((1, 2, 2, 1), "int16")], [((1, 4, 4, 1), "int16")],
          {"size": (4, 4)}), UnsupportedDtypeError, "int16"),
    (Case("l2_int8", "l2_pool2d", [((1, 4, 4, 1), "int8")], [((1, 2, 2, 1), "int8")],
          {"kernel": (2, 2), "stride": (2, 2)}), UnsupportedDtypeError, "int8"),
])
def test_refused(case: Case, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        case_graph(case)
