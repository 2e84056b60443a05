"""The depthwise 3x3 kernels (the DSP extension's channel blocks, Helium, plain C) give the reference runtime's
bytes on random inputs, for shapes that reach every part of the DSP kernel's plan (tinyc/ops/depthwise_conv2d.py
dsp3_plan): channels not a multiple of 4, stride 1 and 2, same and valid padding, inputs narrower than the
window plus padding (no interior row or column), rows with only border pixels, one multiplier for all channels,
a narrow activation range, left-shifting multipliers and biases too large for the fast requantization, and
the shapes that stay on the generic paths (dilation, depth multiplier 2); the DSP kernel's compact form (one
function per stride and clamp for every shape, kernels.compact_table); and 1-D windows (K x 1 or 1 x K, the DSP,
Helium and plain C paths that compute two or four outputs a pass). On the host (plain C, and the DSP and
Helium paths through their C emulations under ASan/UBSan) and on the emulated Cortex-M4F, M7, M33, M55, M0+,
M3 and rv32imc."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.kernel_paths import compact
from tests.test_codegen import HOST, build, generate_into, run_exe
from tests.test_codegen_kernels import EMULATIONS, SANITIZE, Builder, assert_equal_bytes, random_batch
from tinyc.boards import load_board
from tinyc.codegen.kernels import dw_edges_in_place, fast_requant, scalar_requant
from tinyc.codegen.variants import for_core, takes_compact
from tinyc.ir import Graph
from tinyc.lower import Plan, lower
from tinyc.memory import plan_memory
from tinyc.ops.depthwise_conv2d import dsp3_plan
from tinyc.pipeline import run_on_target
from tinyc.runtime import run_plan

# M4F, M7, M33 (DSP), M55 (Helium), M0+, M3, rv32imc (plain C)
BOARDS = ["nucleo-l4r5zi", "nucleo-h743zi", "nucleo-u575zi", "corstone-300", "rpi-pico", "nucleo-f207zg", "esp32-c3"]
N_HOST, N_BOARD = 300, 40  # random inputs per graph


def chain(name: str, seed: int, shape: tuple, layers: list[dict]) -> Graph:
    """Depthwise layers one after the other from an int8 input of `shape`; each layer: kernel (default 3x3),
    stride, pads, multiplier, dilation, act, scales (weight scale per channel or one), out (scale, zp),
    bias (magnitude)."""
    b = Builder(name, seed)
    src = b.act("x", shape, 0.05, 3)
    b.g.inputs = [src]
    h, w, c = shape[1:]
    for i, layer in enumerate(layers):
        kh, kw = layer.get("kernel", (3, 3))
        s, dil, dm = layer.get("stride", 1), layer.get("dilation", 1), layer.get("multiplier", 1)
        pt, pl, pb, pr = layer["pads"]
        oh = (h + pt + pb - dil * (kh - 1) - 1) // s + 1
        ow = (w + pl + pr - dil * (kw - 1) - 1) // s + 1
        n = c * dm
        scales = layer.get("scales", np.linspace(0.002, 0.006, n))
        scales = np.full(n, scales) if np.ndim(scales) == 0 else np.asarray(scales)
        out_scale, out_zp = layer.get("out", (0.08, -5))
        dst = b.act(f"y{i}", (1, oh, ow, n), out_scale, out_zp)
        ins = [src, b.weights(f"w{i}", (1, kh, kw, n), 3, scales), b.bias(f"b{i}", n, layer.get("bias", 2000))]
        b.node("depthwise_conv2d", f"dw{i}", ins, dst, stride=(s, s), dilation=(dil, dil), pads=(pt, pl, pb, pr),
               depth_multiplier=dm, activation=layer.get("act", "none"))
        src, h, w, c = dst, oh, ow, n
    b.g.outputs = [src]
    return b.g


SAME, VALID, TF_S2 = (1, 1, 1, 1), (0, 0, 0, 0), (0, 0, 1, 1)  # TF_S2: TFLite's SAME for stride 2, even size
GRAPHS = {
    # 7 channels (a block of 4 and 3 alone), relu6; stride 2 with bottom/right padding; valid
    "c7": lambda: chain("c7", 1, (1, 9, 11, 7), [
        {"pads": SAME, "act": "relu6", "out": (0.03, -128)},
        {"pads": TF_S2, "stride": 2},
        {"pads": VALID}]),
    # KWS-like 25x5x64 twice, relu (out_zp -128: the full int8 range), then stride 2 padded all round
    "c64": lambda: chain("c64", 2, (1, 25, 5, 64), [
        {"pads": SAME, "act": "relu", "out": (0.05, -128)},
        {"pads": SAME, "out": (0.06, 10)},
        {"pads": SAME, "stride": 2}]),
    # one multiplier for all channels; left-shifting multipliers; biases beyond the fast requantization;
    # a narrow activation range (relu6 with zero point 40)
    "c13": lambda: chain("c13", 3, (1, 6, 5, 13), [
        {"pads": SAME, "scales": 0.004},
        {"pads": SAME, "scales": np.linspace(0.05, 0.4, 13), "out": (0.02, 0)},
        {"pads": SAME, "bias": 2**29 + 2**27, "out": (2000.0, 0)},
        {"pads": SAME, "act": "relu6", "out": (0.03, 40)}]),
    # narrow inputs: 3x3 (one interior row and column), then no interior row
    "narrow": lambda: chain("narrow", 4, (1, 3, 3, 8), [
        {"pads": SAME},
        {"pads": (1, 1, 0, 1)},
        {"pads": (2, 1, 2, 1)}]),
    "wide": lambda: chain("wide", 5, (1, 4, 40, 12), [
        {"pads": SAME, "act": "relu"},
        {"pads": (0, 1, 0, 0), "stride": 2},
        {"pads": (1, 2, 1, 0)}]),
    # the generic paths: dilation 2, multiplier 2, a stride-3 layer with biases whose doubled accumulators
    # could overflow int32
    "other": lambda: chain("other", 6, (1, 9, 8, 4), [
        {"pads": (2, 2, 2, 2), "dilation": 2},
        {"pads": SAME, "multiplier": 2},
        {"pads": SAME, "stride": 3, "bias": 2**31 - 2**20, "out": (20000.0, 0)}]),
    # 1-D windows (the DSP path's two outputs a pass): K x 1 over a W = 1 input (valid, padded both ends,
    # stride 2 with uneven padding, dilation 2, a 1x1 kernel), relu6 and one multiplier for all channels
    "k_by_1": lambda: chain("k_by_1", 7, (1, 30, 1, 40), [
        {"kernel": (3, 1), "pads": VALID},
        {"kernel": (5, 1), "pads": (2, 0, 2, 0), "act": "relu6", "out": (0.03, -128)},
        {"kernel": (4, 1), "pads": (1, 0, 2, 0), "stride": 2, "scales": 0.004},
        {"kernel": (3, 1), "pads": (2, 0, 2, 0), "dilation": 2},
        {"kernel": (1, 1), "pads": VALID, "out": (0.05, 7)},
        {"kernel": (5, 1), "pads": VALID, "stride": 2}]),  # an odd number of outputs, stride 2
    # 1 x K over an H = 1 input (12 channels, an odd number of outputs), a window as long as its input and
    # multiplier 2 (both per pixel), then a 1x2 kernel over padding (no output inside)
    "one_by_k": lambda: chain("one_by_k", 8, (1, 1, 21, 12), [
        {"kernel": (1, 7), "pads": VALID},
        {"kernel": (1, 3), "pads": (0, 1, 0, 1), "act": "relu"},
        {"kernel": (1, 15), "pads": VALID, "bias": 2**29 + 2**27, "out": (2000.0, 0)},
        {"kernel": (1, 1), "pads": VALID, "multiplier": 2},
        {"kernel": (1, 2), "pads": (0, 1, 0, 1)}]),
}
ONE_D = {"k_by_1": 6, "one_by_k": 3}  # layers that take the 1-D paths (DSP and plain C)


def test_one_d_graphs_reach_their_path(tmp_path) -> None:
    for name, layers in ONE_D.items():
        source = (generate_into(plan_memory(lower(GRAPHS[name]())), tmp_path, name).lib / f"{name}.c").read_text()
        assert source.count("DSP, 1-D windows") == source.count("plain C, 1-D windows") == \
            source.count("Helium, 1-D windows") == layers, name


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def graph(request) -> tuple[str, Plan, np.ndarray, np.ndarray]:
    plan = plan_memory(lower(GRAPHS[request.param]()))
    x = random_batch(plan, N_HOST, seed=11)
    return request.param, plan, x, run_plan(plan, [x])[plan.graph.outputs[0]]


def test_graphs_reach_the_plan() -> None:
    """Every DSP plan shape the graphs say they have (guards against a change that routes them elsewhere)."""
    plans = {name: [dsp3_plan(s) for s in plan_memory(lower(make())).steps] for name, make in GRAPHS.items()}
    assert all(plans["c7"]) and all(plans["c64"]) and all(plans["c13"]) and all(plans["wide"])
    assert plans["other"] == [None, None, None]
    kinds = {(seg["generic"], seg["loop"], seg.get("np")) for steps in plans.values() for pl in steps if pl
             for seg in pl["segments"]}
    assert kinds == {(False, True, 2), (False, False, 1), (False, False, 2), (True, False, None)}
    every = [pl for steps in plans.values() for pl in steps if pl]
    assert any(pl["phases"][0][1] == pl["phases"][0][2] for pl in every)  # no interior row
    assert {ph[0] for pl in every for ph in pl["phases"]} == {0, 1, -1}  # shifted top and bottom rows
    assert any(pl["generic_rows"] for pl in every) and not all(pl["generic_rows"] for pl in every)
    steps = {s.node: s for s in plan_memory(lower(GRAPHS["c13"]())).steps}
    assert scalar_requant(steps["dw0"]) and fast_requant(steps["dw0"])
    assert steps["dw1"].consts["shift"].max() > 0 and fast_requant(steps["dw1"]) is None
    assert fast_requant(steps["dw2"]) is None and steps["dw3"].params["act_min"] > -128


def test_host_plain(graph, tmp_path) -> None:
    key, plan, x, ref = graph
    exe = build(generate_into(plan, tmp_path, key), "gcc", HOST["gcc"], "plain")
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{key} on the host")


@pytest.mark.parametrize("cc", sorted(HOST))
def test_host_plain_edges_in_place(graph, cc: str, tmp_path) -> None:
    """The plain C path as a board without the DSP extension gets it (kernels.dw_edges_in_place: border windows
    read in place, the padding's taps as the zero point): gcc under ASan/UBSan, clang at -Werror."""
    key, plan, x, ref = graph
    edges = replace(plan, steps=[replace(s, params=s.params | {"edges_in_place": True}) if dw_edges_in_place(s) else s
                                 for s in plan.steps])
    assert any(s.params.get("edges_in_place") for s in edges.steps) == any(dw_edges_in_place(s) for s in plan.steps)
    exe = build(generate_into(edges, tmp_path, key), cc, SANITIZE if cc == "gcc" else HOST[cc], f"edges_{cc}")
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{key} on the host, edges in place ({cc})")


def test_edges_in_place_by_goal() -> None:
    """Boards without the DSP extension or Helium read the border windows in place for speed and balanced, not
    for size (they cost code); DSP boards never (their own kernels)."""
    plans = [plan_memory(lower(make())) for make in GRAPHS.values()]
    plan = next(p for p in plans if any(dw_edges_in_place(s) for s in p.steps))
    for board, goal, expected in (("esp32-c3", "balanced", True), ("rpi-pico", "speed", True),
                                  ("esp32-c3", "size", False), ("nucleo-l4r5zi", "speed", False)):
        steps = for_core(plan, load_board(board), goal).steps
        assert any(s.params.get("edges_in_place") for s in steps) == expected, (board, goal)


@pytest.mark.parametrize("path", sorted(EMULATIONS))
def test_host_emulated(graph, path: str, tmp_path) -> None:
    key, plan, x, ref = graph
    exe = build(generate_into(plan, tmp_path, key), "gcc", SANITIZE + [EMULATIONS[path]], path)
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{key}, {path} path emulated")


@pytest.mark.parametrize("board", BOARDS)
def test_on_board(graph, board: str) -> None:
    key, plan, x, ref = graph
    got, _ = run_on_target(plan, x[:N_BOARD], board)
    assert_equal_bytes(got, ref[:N_BOARD], f"{key} on {board}")


# graphs with depthwise layers that have a compact form: strides 1 and 2, full-range and narrower clamps, inputs
# without an interior row, rows of only border pixels, rows no phase takes
COMPACT = {"c64": 3, "narrow": 3, "wide": 3}
DSP_BOARDS = BOARDS[:3]


@pytest.fixture(scope="module", params=sorted(COMPACT))
def compact_graph(request) -> tuple[str, Plan, np.ndarray, np.ndarray]:
    plan = compact(plan_memory(lower(GRAPHS[request.param]())))
    x = random_batch(plan, N_HOST, seed=12)
    return request.param, plan, x, run_plan(plan, [x])[plan.graph.outputs[0]]


def test_compact_graphs_reach_every_shared_function(tmp_path) -> None:
    calls = set()
    for name, layers in COMPACT.items():
        plan = compact(plan_memory(lower(GRAPHS[name]())))
        assert sum(bool(s.params.get("compact")) for s in plan.steps) == layers, name
        assert not takes_compact(plan.steps, "speed", "depthwise_conv2d_s8")
        source = (generate_into(plan, tmp_path, name).lib / f"{name}.c").read_text()
        calls |= {f for f in ("tinyc_dw3_image_s1(", "tinyc_dw3_image_s2(", "tinyc_dw3_image_s1_full(",
                              "tinyc_dw3_image_s2_full(") if f"{f}in0" in source}
    assert calls == {"tinyc_dw3_image_s1(", "tinyc_dw3_image_s1_full(", "tinyc_dw3_image_s2_full("}


def test_compact_host_emulated(compact_graph, tmp_path) -> None:
    key, plan, x, ref = compact_graph
    exe = build(generate_into(plan, tmp_path, key), "gcc", SANITIZE + [EMULATIONS["simd32"]], "simd32")
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{key}, compact DSP path emulated")


@pytest.mark.parametrize("board", DSP_BOARDS)
def test_compact_on_board(compact_graph, board: str) -> None:
    key, plan, x, ref = compact_graph
    got, _ = run_on_target(plan, x[:N_BOARD], board)
    assert_equal_bytes(got, ref[:N_BOARD], f"{key} compact on {board}")
