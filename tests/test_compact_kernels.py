"""The compact forms of the DSP kernels (kernels.compact_table: one function per requantization form and clamp
for every layer, the shape as a table) give the reference runtime's bytes: pointwise convs of 3, 7 and 20 pixels
(the last three-pixel pass redoing some), 16 and 20 input channels, the fast requantization and
tinyc_requant_r_s8 (channels whose right shift is past the fast one's), the full int8 range and narrower clamps,
one multiplier for the layer, under the DSP emulation with ASan/UBSan on the host and on the emulated Cortex-M4F,
M7 and M33; and the goals take them where the rule says (the depthwise 3x3 compact form: test_depthwise_dsp)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernel_paths import compact
from tests.test_codegen import build, generate_into, run_exe
from tests.test_codegen_kernels import EMULATIONS, SANITIZE, Builder, assert_equal_bytes, random_batch
from tests.test_conv_pool_paths import conv
from tinyc.codegen.kernels import compact_table, fast_requant, scalar_requant
from tinyc.codegen.variants import takes_compact
from tinyc.ir import Graph
from tinyc.lower import Plan, lower
from tinyc.memory import plan_memory
from tinyc.pipeline import run_on_target
from tinyc.runtime import run_plan

DSP_BOARDS = ["nucleo-l4r5zi", "nucleo-h743zi", "nucleo-u575zi"]
N_HOST, N_BOARD = 200, 30
# half the channels with weight scales so small that their right shift is past the fast requantization's
TINY = np.concatenate([np.full(8, 2e-8), np.linspace(0.002, 0.005, 8)])


def pointwise_graph() -> Graph:
    """1x7x20 -> 16 (relu, the full range; fast) -> 20 (relu6 with zero point 40; fast) -> 16 (TINY scales,
    the full range; tinyc_requant_r_s8) -> 8 (relu6, TINY scales: tinyc_requant_r_s8 clamped)."""
    b = Builder("pw_compact", 41)
    x = b.act("x", (1, 1, 7, 20), 0.05, 5)
    b.g.inputs = [x]
    p1 = conv(b, "p1", x, (1, 1, 7, 16), (16, 1, 1, 20), np.linspace(0.002, 0.005, 16), act="relu", zp=-128)
    p2 = conv(b, "p2", p1, (1, 1, 7, 20), (20, 1, 1, 16), np.linspace(0.003, 0.006, 20), act="relu6", zp=40)
    p3 = conv(b, "p3", p2, (1, 1, 7, 16), (16, 1, 1, 20), np.concatenate([TINY[:4], np.linspace(0.002, 0.004, 16)[4:]]),
              zp=-7)
    b.g.outputs = [conv(b, "p4", p3, (1, 1, 7, 8), (8, 1, 1, 16), TINY[4:12], act="relu6", zp=40)]
    return b.g


def scalar_graph() -> Graph:
    """4x5x16 (20 pixels) -> 16 with one multiplier -> 6 pixels' worth 3x1x16 is below: 3 pixels (one pass)."""
    b = Builder("pw_scalar", 42)
    x = b.act("x", (1, 4, 5, 16), 0.05, -3)
    b.g.inputs = [x]
    s1 = conv(b, "s1", x, (1, 4, 5, 16), (16, 1, 1, 16), np.full(16, 0.004), zp=2)
    b.g.outputs = [conv(b, "s2", s1, (1, 4, 5, 6), (6, 1, 1, 16), np.linspace(0.002, 0.006, 6), act="relu",
                        zp=-128)]
    return b.g


def three_graph() -> Graph:
    """1x3x16 (3 pixels: one pass) -> 10 (fast, the full range)."""
    b = Builder("pw_three", 43)
    x = b.act("x", (1, 1, 3, 16), 0.05, 0)
    b.g.inputs = [x]
    b.g.outputs = [conv(b, "t1", x, (1, 1, 3, 10), (10, 1, 1, 16), np.linspace(0.002, 0.006, 10), zp=1)]
    return b.g


GRAPHS = {"pw_compact": pointwise_graph, "pw_scalar": scalar_graph, "pw_three": three_graph}


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def case(request) -> tuple[str, Plan, np.ndarray, np.ndarray]:
    plan = compact(plan_memory(lower(GRAPHS[request.param]())))
    x = random_batch(plan, N_HOST, seed=44)
    return request.param, plan, x, run_plan(plan, [x])[plan.graph.outputs[0]]


def test_graphs_reach_every_shared_function(tmp_path) -> None:
    steps = {s.node: s for make in GRAPHS.values() for s in plan_memory(lower(make())).steps}
    assert all(compact_table(s) for s in steps.values())
    assert [n for n, s in steps.items() if fast_requant(s) is None] == ["p3", "p4"]
    assert [n for n, s in steps.items() if scalar_requant(s)] == ["s1"]
    calls = set()
    for name, make in GRAPHS.items():
        plan = compact(plan_memory(lower(make())))
        source = (generate_into(plan, tmp_path, name).lib / f"{name}.c").read_text()
        calls |= {f for f in ("tinyc_pw3_s8_fast_full(", "tinyc_pw3_s8_fast(", "tinyc_pw3_s8_full(", "tinyc_pw3_s8(")
                  if f"{f}in0" in source}
    assert len(calls) == 4


def test_goals() -> None:
    """pw_compact's four layers would each call a different shared function (bigger than its own): no goal
    takes the compact form; with the other three layers' forms all alike (pw_scalar's and pw_three's: fast,
    the full range or not) size does. VWW's: tests/test_variants.py."""
    steps = plan_memory(lower(pointwise_graph())).steps
    assert not any(takes_compact(steps, goal, "conv2d_s8") for goal in ("speed", "balanced", "size"))
    fast = [s for make in (scalar_graph, three_graph) for s in plan_memory(lower(make())).steps
            if s.params["act_min"] == -128 and s.params["act_max"] == 127]
    assert len(fast) == 3 and takes_compact(fast, "size", "conv2d_s8")
    assert not takes_compact(fast, "speed", "conv2d_s8")


def test_dsp_emulated(case, tmp_path) -> None:
    key, plan, x, ref = case
    exe = build(generate_into(plan, tmp_path, key), "gcc", SANITIZE + [EMULATIONS["simd32"]], "simd32")
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{key}, compact DSP path emulated")
    assert len(np.unique(ref)) > 8, f"{key}: the outputs hardly vary"


@pytest.mark.parametrize("board", DSP_BOARDS)
def test_on_board(case, board: str) -> None:
    key, plan, x, ref = case
    got, _ = run_on_target(plan, x[:N_BOARD], board)
    assert_equal_bytes(got, ref[:N_BOARD], f"{key} compact on {board}")
