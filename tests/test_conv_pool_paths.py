"""int8 conv2d and average pooling give the reference runtime's bytes on every kernel path: the DSP extension
(Cortex-M4F, M7), Helium (M55), plain C on ARMv6-M (M0+), ARMv7-M without DSP (M3) and rv32imc, each under
QEMU, and the SIMD paths on the host through the C emulations of their instructions (ASan/UBSan).

The shapes aim at the DSP path's variants: the first conv of an RGB model (3 input channels, 27 taps, stride
2, padding: byte patches widened to 28 values), a 1-channel tall kernel (40 taps), input channels that are
multiples of 4 (the im2col straight into int16 pairs) with padding and dilation, 1x1 convs read in place with
and without 4 | IC, odd output channels and odd pixel counts, one multiplier for the whole layer, windows of
1 and 2 input channels built straight as int16 pairs one word per kernel row, of 3 and 5 inside the input from
word loads, three pixels a pass (windows of whole words, byte patches widened to them as c1, from word loads
as f5, a kernel row at a time as d2 and u2; the last pass redoing one or two pixels); average pools with
4 | C (SXTAB16 sums) and without, padded border windows, and windows of 256 taps (the most the halfword sums
hold) and 340 (the plain C sums).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernel_paths import path_tests
from tests.test_codegen_kernels import Builder, random_batch
from tinyc.codegen import kernels
from tinyc.ir import Graph
from tinyc.lower import Plan, lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

BOARDS = ["nucleo-l4r5zi", "nucleo-h743zi", "corstone-300", "rpi-pico", "nucleo-f103rb", "esp32-c3"]
N_INPUTS = 48  # per graph: all zeros, all -128, all 127, then random


def conv(b: Builder, name: str, src: str, out: tuple, w: tuple, scales: np.ndarray, stride: tuple = (1, 1),
         dilation: tuple = (1, 1), pads: tuple = (0, 0, 0, 0), act: str = "none", zp: int = 0) -> str:
    y = b.act(name, out, 0.08, zp)
    ins = [src, b.weights(f"{name}_w", w, 0, scales), b.bias(f"{name}_b", w[0])]
    b.node("conv2d", name, ins, y, stride=stride, dilation=dilation, pads=pads, activation=act)
    return y


def avg_pool(b: Builder, name: str, src: str, out: tuple, kernel: tuple, stride: tuple = (1, 1),
             pads: tuple = (0, 0, 0, 0)) -> str:
    t = b.g.tensor(src)
    y = b.act(name, out, float(t.quant.scale[0]), int(t.quant.zero_point[0]))
    b.node("avg_pool2d", name, [src], y, kernel=kernel, stride=stride, pads=pads, activation="none")
    return y


def rgb_graph() -> Graph:
    """13x11x3 -> conv 3x3/2 padded, IC=3 (relu6) -> conv 3x3 padded 8 -> 7 (odd OC) -> conv 1x1/2 in place,
    IC=7, one multiplier -> average pool 3x3 padded over 5 channels."""
    b = Builder("rgb", 21)
    x = b.act("x", (1, 13, 11, 3), 0.05, -5)
    b.g.inputs = [x]
    c1 = conv(b, "c1", x, (1, 7, 6, 8), (8, 3, 3, 3), np.linspace(0.003, 0.006, 8), (2, 2), pads=(1, 1, 1, 1),
              act="relu6", zp=-100)
    c2 = conv(b, "c2", c1, (1, 7, 6, 7), (7, 3, 3, 8), np.linspace(0.002, 0.004, 7), pads=(1, 1, 1, 1), zp=3)
    c3 = conv(b, "c3", c2, (1, 4, 3, 5), (5, 1, 1, 7), np.full(5, 0.008), (2, 2), zp=-2)
    b.g.outputs = [avg_pool(b, "pool", c3, (1, 4, 3, 5), (3, 3), pads=(1, 1, 1, 1))]
    return b.g


def dilated_graph() -> Graph:
    """12x10x4 -> conv 3x3 dilation 2 padded 4 -> 12 -> conv 2x3 dilation (1, 2) 12 -> 6 (66 pixels) -> 1x1 6 ->
    16 -> 1x1 16 -> 8 -> average pool 3x3/2 padded (SXTAB16 sums, border counts) -> global average pool."""
    b = Builder("dilated", 22)
    x = b.act("x", (1, 12, 10, 4), 0.05, 7)
    b.g.inputs = [x]
    d1 = conv(b, "d1", x, (1, 12, 10, 12), (12, 3, 3, 4), np.linspace(0.004, 0.008, 12), dilation=(2, 2),
              pads=(2, 2, 2, 2), act="relu", zp=-90)
    d2 = conv(b, "d2", d1, (1, 11, 6, 6), (6, 2, 3, 12), np.linspace(0.001, 0.003, 6), dilation=(1, 2), zp=1)
    d3 = conv(b, "d3", d2, (1, 11, 6, 16), (16, 1, 1, 6), np.linspace(0.005, 0.01, 16), zp=-4)
    d4 = conv(b, "d4", d3, (1, 11, 6, 8), (8, 1, 1, 16), np.linspace(0.002, 0.004, 8), zp=6)
    p1 = avg_pool(b, "p1", d4, (1, 6, 3, 8), (3, 3), (2, 2), (1, 1, 1, 1))
    b.g.outputs = [avg_pool(b, "p2", p1, (1, 1, 1, 8), (6, 3))]
    return b.g


def tall_graph() -> Graph:
    """25x10x1 -> conv 10x4/2 padded, one input channel (40 taps, 65 pixels) -> 6; average pool 13x5 (65 taps)."""
    b = Builder("tall", 23)
    x = b.act("x", (1, 25, 10, 1), 0.5, 20)
    b.g.inputs = [x]
    t = conv(b, "t1", x, (1, 13, 5, 6), (6, 10, 4, 1), np.linspace(0.001, 0.002, 6), (2, 2), pads=(4, 1, 5, 1),
             act="relu", zp=-128)
    b.g.outputs = [avg_pool(b, "pool", t, (1, 1, 1, 6), (13, 5))]
    return b.g


def few_graph() -> Graph:
    """12x10x1 -> conv 3x4 dilation (2, 1) unpadded, IC=1 (12 taps) -> 2 -> conv 3x2 padded, IC=2 (12 taps) -> 3
    -> conv 3x3 padded bottom and right, IC=3 (27 taps) -> 6 -> conv 2x3/2 padded, IC=6, odd OC 5, one multiplier
    -> conv 1x2 padded right, IC=5 (10 taps), one multiplier -> 4: windows built straight as int16 pairs, one word
    per kernel row (kernels.conv_rows_one_word) or, inside the input, from word loads (conv_window_words); the
    others and those of odd OC from byte patches."""
    b = Builder("few", 26)
    x = b.act("x", (1, 12, 10, 1), 0.06, 4)
    b.g.inputs = [x]
    f1 = conv(b, "f1", x, (1, 8, 7, 2), (2, 3, 4, 1), np.array([0.004, 0.009]), dilation=(2, 1), zp=-20)
    f2 = conv(b, "f2", f1, (1, 8, 8, 3), (3, 3, 2, 2), np.linspace(0.003, 0.009, 3), pads=(1, 1, 1, 1), zp=5)
    f3 = conv(b, "f3", f2, (1, 7, 7, 6), (6, 3, 3, 3), np.linspace(0.004, 0.007, 6), pads=(0, 0, 1, 1),
              act="relu", zp=-128)
    f4 = conv(b, "f4", f3, (1, 3, 4, 5), (5, 2, 3, 6), np.full(5, 0.002), (2, 2), pads=(0, 1, 0, 1), zp=9)
    b.g.outputs = [conv(b, "f5", f4, (1, 3, 4, 4), (4, 1, 2, 5), np.full(4, 0.004), pads=(0, 0, 0, 1), zp=-3)]
    return b.g


def pointwise_graph() -> Graph:
    """5x3x24 (15 pixels: a pair path's last one alone) -> conv 1x1, IC=24 (Helium: one full and one predicated
    load per row), odd OC 9 (relu) -> conv 1x1, IC=9 -> 32, one multiplier -> conv 1x1, IC=32 (two full loads) -> 6."""
    b = Builder("pointwise", 27)
    x = b.act("x", (1, 5, 3, 24), 0.05, -7)
    b.g.inputs = [x]
    p1 = conv(b, "p1", x, (1, 5, 3, 9), (9, 1, 1, 24), np.linspace(0.002, 0.005, 9), act="relu", zp=-128)
    p2 = conv(b, "p2", p1, (1, 5, 3, 32), (32, 1, 1, 9), np.full(32, 0.006), zp=4)
    b.g.outputs = [conv(b, "p3", p2, (1, 5, 3, 6), (6, 1, 1, 32), np.linspace(0.001, 0.003, 6), zp=-9)]
    return b.g


def pointwise_long_graph() -> Graph:
    """5x3x40 (15 pixels) -> conv 1x1, IC=40 (Helium pairs: two 16-value steps and an 8-value tail), OC 143 (35
    blocks of 4 and 3 alone; relu) -> conv 1x1/2, IC=143 (the longest unrolled row: 8 steps, a 15-value tail,
    the weight offset 127), one multiplier, 6 pixels over two rows -> conv 1x1, IC=128 (steps only) -> 6."""
    b = Builder("pointwise_long", 28)
    x = b.act("x", (1, 5, 3, 40), 0.05, -7)
    b.g.inputs = [x]
    q1 = conv(b, "q1", x, (1, 5, 3, 143), (143, 1, 1, 40), np.linspace(0.002, 0.005, 143), act="relu", zp=-128)
    q2 = conv(b, "q2", q1, (1, 3, 2, 128), (128, 1, 1, 143), np.full(128, 0.0015), (2, 2), zp=4)
    b.g.outputs = [conv(b, "q3", q2, (1, 3, 2, 6), (6, 1, 1, 128), np.linspace(0.001, 0.003, 6), zp=-9)]
    return b.g


def long_rows_graph() -> Graph:
    """7x5x17 -> conv 3x3 padded, N=153 (Helium: two pixels x three channels, 9 steps unrolled, a 9-value tail;
    35 pixels), OC 32 (relu) -> conv 3x3/2 padded, N=288 (four channels x two pixels, word loads, 18 steps), OC
    214 (2 left over), one multiplier -> conv 1x1 read in place, N=214 (three channels: 13 steps, a loop of 1, a
    tail of 6) -> 230 (2 left over) -> conv 1x1, N=230 (14 steps, a loop of 2) -> 9 (none left over)."""
    b = Builder("long_rows", 29)
    x = b.act("x", (1, 7, 5, 17), 0.05, 3)
    b.g.inputs = [x]
    l1 = conv(b, "l1", x, (1, 7, 5, 32), (32, 3, 3, 17), np.linspace(0.002, 0.004, 32), pads=(1, 1, 1, 1),
              act="relu", zp=-128)
    l2 = conv(b, "l2", l1, (1, 4, 3, 214), (214, 3, 3, 32), np.full(214, 0.001), (2, 2), pads=(1, 1, 1, 1), zp=4)
    l3 = conv(b, "l3", l2, (1, 4, 3, 230), (230, 1, 1, 214), np.linspace(0.001, 0.002, 230), zp=-3)
    b.g.outputs = [conv(b, "l4", l3, (1, 4, 3, 9), (9, 1, 1, 230), np.linspace(0.001, 0.003, 9), zp=2)]
    return b.g


def triples_graph() -> Graph:
    """8x5x8 -> conv 3x3 padded, IC=8 (72 taps: four rounds of four words and two more), 12 channels, relu ->
    conv 3x3/2 padded but on top, IC=12 (108 taps) -> 16 -> conv 2x2 stride (1, 2) padded bottom and right,
    IC=16 (64 taps), one multiplier -> 8 -> conv 1x1 stride (2, 1) read in place, IC=8 -> 4: the DSP path's
    three-pixel passes (kernels.conv_triples), the last pass redoing two pixels (40 = 13 * 3 + 1) or one (8 = 2 *
    3 + 2); the second, whose three windows would need more scratch than its two, a kernel row at a time (its
    last row over the bottom border); the last, read in place with fewer than 16 channels, pixel pairs."""
    b = Builder("triples", 28)
    x = b.act("x", (1, 8, 5, 8), 0.05, 3)
    b.g.inputs = [x]
    u1 = conv(b, "u1", x, (1, 8, 5, 12), (12, 3, 3, 8), np.linspace(0.002, 0.006, 12), pads=(1, 1, 1, 1),
              act="relu", zp=-128)
    u2 = conv(b, "u2", u1, (1, 4, 3, 16), (16, 3, 3, 12), np.linspace(0.001, 0.004, 16), (2, 2),
              pads=(0, 1, 1, 1), zp=-6)
    u3 = conv(b, "u3", u2, (1, 4, 2, 8), (8, 2, 2, 16), np.full(8, 0.003), (1, 2), pads=(0, 0, 1, 1), zp=11)
    b.g.outputs = [conv(b, "u4", u3, (1, 2, 2, 4), (4, 1, 1, 8), np.linspace(0.004, 0.009, 4), (2, 1), zp=-1)]
    return b.g


def pointwise_triples_graph() -> Graph:
    """4x5x20 (20 pixels: the last three-pixel pass redoes one) -> conv 1x1, IC=20 (five words a window) -> 16
    (relu) -> conv 1x1, IC=16, one multiplier -> 12: both on the DSP path's three-pixel passes, windows widened
    in place of the pair path's expansion (kernels.conv_triples, read-in-place convs from 16 channels)."""
    b = Builder("pointwise_triples", 30)
    x = b.act("x", (1, 4, 5, 20), 0.05, 5)
    b.g.inputs = [x]
    pw1 = conv(b, "pw1", x, (1, 4, 5, 16), (16, 1, 1, 20), np.linspace(0.002, 0.005, 16), act="relu", zp=-128)
    b.g.outputs = [conv(b, "pw2", pw1, (1, 4, 5, 12), (12, 1, 1, 16), np.full(12, 0.004), zp=-3)]
    return b.g


def word_rows_graph() -> Graph:
    """5x3x13 -> conv 3x4 padded, N=156 (Helium: four channels x two pixels unrolled, the weights loaded as
    words, a 12-value tail), OC 67 (3 left over; relu) -> conv 1x1, N=67 (byte loads, a tail of 3) -> 20 -> conv
    4x4 padded, N=320 (the longest word-loaded row: 20 steps, the offset 304), one multiplier -> 9 (1 left
    over)."""
    b = Builder("word_rows", 30)
    x = b.act("x", (1, 5, 3, 13), 0.05, 5)
    b.g.inputs = [x]
    r1 = conv(b, "r1", x, (1, 5, 3, 67), (67, 3, 4, 13), np.linspace(0.002, 0.004, 67), pads=(1, 1, 1, 2),
              act="relu", zp=-128)
    r2 = conv(b, "r2", r1, (1, 5, 3, 20), (20, 1, 1, 67), np.linspace(0.003, 0.006, 20), zp=-6)
    b.g.outputs = [conv(b, "r3", r2, (1, 5, 3, 9), (9, 4, 4, 20), np.full(9, 0.0015), pads=(1, 1, 2, 2), zp=2)]
    return b.g


def loop3_rows_graph() -> Graph:
    """4x3x27 -> conv 3x3 padded, N=243 (Helium: two pixels x three channels, 15 steps in a loop of 3, a tail of
    3; windows inside the input copied by 18 unrolled vector copies), one multiplier -> 5 (2 left over) -> conv
    5x5 dilation (1, 2) padded (25 runs of 5 values: too many to unroll, tinyc_im2col_v) -> 4."""
    b = Builder("loop3_rows", 31)
    x = b.act("x", (1, 4, 3, 27), 0.05, -3)
    b.g.inputs = [x]
    s1 = conv(b, "s1", x, (1, 4, 3, 5), (5, 3, 3, 27), np.full(5, 0.0015), pads=(1, 1, 1, 1), zp=7)
    b.g.outputs = [conv(b, "s2", s1, (1, 4, 3, 4), (4, 5, 5, 5), np.linspace(0.002, 0.004, 4), dilation=(1, 2),
                        pads=(2, 4, 2, 4), zp=-1)]
    return b.g


def valid_graph() -> Graph:
    """10x10x5 -> conv 3x3 unpadded, IC=5 (rows of 15 values), OC 6 -> conv 1x1/2, OC 10 (relu): RISC-V's windows
    all in place without a flat input step (kernels.conv_rv_blocks), rows with a tail, output channels past the
    last four."""
    b = Builder("valid", 28)
    x = b.act("x", (1, 10, 10, 5), 0.05, 11)
    b.g.inputs = [x]
    v1 = conv(b, "v1", x, (1, 8, 8, 6), (6, 3, 3, 5), np.linspace(0.002, 0.005, 6), zp=-6)
    b.g.outputs = [conv(b, "v2", v1, (1, 4, 4, 10), (10, 1, 1, 6), np.linspace(0.004, 0.009, 10), (2, 2),
                        act="relu", zp=-128)]
    return b.g


def band_graph() -> Graph:
    """5x12x6 -> conv 3x3 padded, OC 8 -> conv 3x3 dilation (1, 2) padded (1, 2), IC=8, OC 5: rows of 12
    output pixels, RISC-V's border groups read from a copy of the band of input they span (in place inside)."""
    b = Builder("band", 29)
    x = b.act("x", (1, 5, 12, 6), 0.05, -3)
    b.g.inputs = [x]
    b1 = conv(b, "b1", x, (1, 5, 12, 8), (8, 3, 3, 6), np.linspace(0.003, 0.006, 8), pads=(1, 1, 1, 1), act="relu",
              zp=-128)
    b.g.outputs = [conv(b, "b2", b1, (1, 5, 12, 5), (5, 3, 3, 8), np.linspace(0.001, 0.003, 5), dilation=(1, 2),
                        pads=(1, 2, 1, 2), zp=8)]
    return b.g


def wide_graph() -> Graph:
    """2x4x700 -> conv 1x1, IC=700 -> 80 -> conv 3x3 padded, 720 taps -> 6 (relu): RISC-V's loads reaching past
    2047 bytes from one pointer (conv2d_s8.c.j2 rv_bias: the pointer moved to the middle of their offsets):
    pixels and weight rows 700 apart, weight rows 720 apart."""
    b = Builder("wide", 30)
    x = b.act("x", (1, 2, 4, 700), 0.05, 2)
    b.g.inputs = [x]
    w1 = conv(b, "w1", x, (1, 2, 4, 80), (80, 1, 1, 700), np.linspace(0.0005, 0.001, 80), zp=-5)
    b.g.outputs = [conv(b, "w2", w1, (1, 2, 4, 6), (6, 3, 3, 80), np.linspace(0.0004, 0.0008, 6), pads=(1, 1, 1, 1),
                        act="relu", zp=-128)]
    return b.g


def pool256_graph() -> Graph:
    """16x16x4: a 256-tap global average pool (the halfword sums' limit: 256 * -128 = -32768)."""
    b = Builder("pool256", 24)
    x = b.act("x", (1, 16, 16, 4), 0.1, 0)
    b.g.inputs = [x]
    b.g.outputs = [avg_pool(b, "pool", x, (1, 1, 1, 4), (16, 16))]
    return b.g


def pool340_graph() -> Graph:
    """20x17x8: a 340-tap global average pool (too many for halfword sums: the plain C sums)."""
    b = Builder("pool340", 25)
    x = b.act("x", (1, 20, 17, 8), 0.1, 0)
    b.g.inputs = [x]
    b.g.outputs = [avg_pool(b, "pool", x, (1, 1, 1, 8), (20, 17))]
    return b.g


GRAPHS = {"rgb": rgb_graph, "dilated": dilated_graph, "tall": tall_graph, "few": few_graph,
          "pointwise": pointwise_graph, "pointwise_long": pointwise_long_graph, "long_rows": long_rows_graph,
          "triples": triples_graph, "pointwise_triples": pointwise_triples_graph, "word_rows": word_rows_graph,
          "loop3_rows": loop3_rows_graph, "valid": valid_graph, "band": band_graph, "wide": wide_graph,
          "pool256": pool256_graph, "pool340": pool340_graph}


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def case(request) -> tuple[Plan, np.ndarray, np.ndarray]:
    plan = plan_memory(lower(GRAPHS[request.param]()))
    x = random_batch(plan, N_INPUTS, seed=31)
    return plan, x, run_plan(plan, [x])[plan.graph.outputs[0]]


def test_graphs_are_what_they_say() -> None:
    """The convs stay dense (conv2d_s8) with the shapes the docstrings name, and the outputs are not constant
    (a change that saturated every value would hide wrong sums)."""
    steps = {s.node: s for g in GRAPHS.values() for s in lower(g()).steps}
    convs = ("c1", "c2", "c3", "d1", "d2", "d3", "d4", "t1", "f1", "f2", "f3", "f4", "f5", "v1", "v2", "b1", "b2")
    assert all(steps[n].kernel == "conv2d_s8" for n in convs)
    assert [n for n in convs if kernels.conv_rows_one_word(steps[n].params)] == ["t1", "f1", "f2"]
    plans = [plan_memory(lower(make())) for make in GRAPHS.values()]
    triples = {s.node: kernels.conv_triples(s.params, kernels.scratch_room(plan)) for plan in plans
               for s in plan.steps if s.kernel == "conv2d_s8"}
    assert {node: how for node, how in triples.items() if how} == {
        "c1": "whole", "d1": "whole", "d2": "rows", "d4": "whole", "f5": "whole", "p3": "whole", "q3": "whole",
        "u1": "whole", "u2": "rows", "u3": "whole", "pw1": "whole", "pw2": "whole", "s2": "whole", "w1": "whole",
        "w2": "rows"}
    assert [n for n in convs if kernels.conv_window_words(steps[n].params)] == ["f3", "f5", "v1"]
    assert steps["f1"].params["dil_h"] == 2 and not kernels.has_padding(steps["f1"].params)
    assert steps["c1"].params["in_c"] == 3 and steps["c1"].params["stride_h"] == 2
    assert steps["d1"].params["dil_w"] == 2 and steps["d1"].params["pad_left"] == 2
    assert steps["t1"].params["k_h"] * steps["t1"].params["k_w"] * steps["t1"].params["in_c"] == 40
    assert steps["w1"].params["in_c"] == 700 and steps["w2"].params["in_c"] * 9 == 720  # 3 * 700 + 3 > 2047
    # RISC-V's 4 x 4 blocks (kernels.conv_rv_blocks): every way of reading the windows, and the fallback
    rv = {n: kernels.conv_rv_blocks(steps[n].params) for n in convs + ("p1", "p2", "p3")}
    assert [n for n in rv if rv[n] is None] == ["f1", "f2"]
    assert [n for n in rv if rv[n] and rv[n]["check"]] == ["d1", "d2", "f3", "b1", "b2"]
    assert [n for n in rv if rv[n] and rv[n]["band"]] == ["f4", "f5", "b1", "b2"]
    assert [n for n in rv if rv[n] and rv[n]["flat"]] == ["d3", "d4", "p1", "p2", "p3"]
    assert [n for n in rv if rv[n] and rv[n]["in_place"] and not rv[n]["patched"] and not rv[n]["flat"]] == \
        ["v1", "v2"]
    assert [n for n in rv if rv[n] and not rv[n]["in_place"]] == ["c1", "c2", "c3", "t1", "f4", "f5"]
    for name, make in GRAPHS.items():
        plan = plan_memory(lower(make()))
        y = run_plan(plan, [random_batch(plan, N_INPUTS, seed=31)])[plan.graph.outputs[0]]
        assert len(np.unique(y)) > 8, f"{name}: the outputs hardly vary"


test_on_board, test_emulated_on_host, test_plain_c_on_host = path_tests(BOARDS)
