"""int8 fully connected gives the reference runtime's bytes on every kernel path: the DSP extension (Cortex-M4F,
M7, M33: four units x sixteen values a round by LDRD, from one pointer between the rows or from two), Helium
(M55), ARMv6-M (M0+), ARMv7-M without DSP (M3) and rv32imc (eight units per input byte at immediate offsets,
one or two pointers), each under QEMU, and the SIMD paths and the plain C on the host (ASan/UBSan, gcc, clang).
On the DSP boards the layers with units in pairs take the paired kernel (kernels.fc_paired); its library is
also built on the host, as the DSP path emulated and as the plain C that reads its layout one product at a time.
On rv32imc the layers take the pair-sums kernel (kernels.fc_pair_sums_consts: one multiply for two products),
its input words formed as it goes or, where they fit the RAM share, once per row in scratch; its arithmetic is
checked in NumPy over the extremes, and its library (balanced and speed) on the board and on the host.

The shapes aim at the variants: depths that are multiples of 16, of 8 only, of 4 only, not of 4, small (8, 12),
past the DSP path's single pointer (700) and past the RISC-V path's offsets (1400); units not multiples of 4 or
8; several rows; one multiplier for the layer and one per unit; relu6 and a non-zero output zero point; then an
in-place residual add and an add of a broadcast constant.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernel_paths import path_tests
from tests.test_codegen import HOST, build, generate_into, run_exe
from tests.test_codegen_kernels import EMULATIONS, SANITIZE, Builder, assert_equal_bytes, q, random_batch
from tests.test_conv_pool_paths import conv
from tinyc.boards import load_board
from tinyc.codegen.kernels import FC_PAIR_SUMS_UNITS, fc_pair_sums_consts, fc_paired, fc_paired_weights
from tinyc.codegen.variants import for_core, takes_pair_sums
from tinyc.ir import Graph
from tinyc.lower import Plan, lower
from tinyc.memory import plan_memory
from tinyc.pipeline import run_model
from tinyc.runtime import run_plan

BOARDS = ["nucleo-l4r5zi", "nucleo-h743zi", "nucleo-u575zi", "corstone-300", "rpi-pico", "nucleo-f103rb",
          "esp32-c3"]
N_INPUTS = 48  # per graph: all zeros, all -128, all 127, then random


def fc(b: Builder, name: str, src: str, rows: int, depth: int, units: int, scales: np.ndarray, zp: int = 0,
       act: str = "none", out_scale: float = 0.1) -> str:
    y = b.act(name, (1, rows, units) if rows > 1 else (1, units), out_scale, zp)
    ins = [src, b.weights(f"{name}_w", (units, depth), 0, scales), b.bias(f"{name}_b", units)]
    b.node("fully_connected", name, ins, y, activation=act)
    return y


def mlp_graph() -> Graph:
    """2 rows: 40 -> 13 (per unit) -> 52 -> 20 (one multiplier, relu6) -> 12 -> 16 -> 8 -> 21 -> 37 -> 11."""
    b = Builder("mlp", 41)
    x = b.act("x", (1, 2, 40), 0.05, -3)
    b.g.inputs = [x]
    h = fc(b, "f40", x, 2, 40, 13, np.linspace(0.004, 0.009, 13), zp=5)
    h = fc(b, "f13", h, 2, 13, 52, np.linspace(0.01, 0.02, 52), zp=-7)
    h = fc(b, "f52", h, 2, 52, 20, np.full(20, 0.006), zp=-128, act="relu6", out_scale=0.03)
    h = fc(b, "f20", h, 2, 20, 12, np.linspace(0.005, 0.01, 12), zp=2)
    h = fc(b, "f12", h, 2, 12, 16, np.linspace(0.01, 0.03, 16), zp=-1)
    h = fc(b, "f16", h, 2, 16, 8, np.full(8, 0.008), zp=3)
    h = fc(b, "f8", h, 2, 8, 21, np.linspace(0.02, 0.04, 21), zp=0)
    h = fc(b, "f21", h, 2, 21, 37, np.linspace(0.005, 0.01, 37), zp=4)
    b.g.outputs = [fc(b, "f37", h, 2, 37, 11, np.full(11, 0.004), zp=-2)]
    return b.g


def deep_graph() -> Graph:
    """1 row: 700 -> 9 (the DSP path's two pointers, the RISC-V path's two) -> 1400 units -> 1400 -> 12 (past
    the RISC-V offsets) -> 12 units, added in place to a copy of itself rescaled (a residual) and to a constant."""
    b = Builder("deep", 42)
    x = b.act("x", (1, 700), 0.05, 1)
    b.g.inputs = [x]
    h = fc(b, "f700", x, 1, 700, 9, np.linspace(0.0008, 0.0012, 9), zp=-4)
    h = fc(b, "f9", h, 1, 9, 1400, np.linspace(0.01, 0.02, 1400), zp=6)
    h = fc(b, "f1400", h, 1, 1400, 12, np.full(12, 0.0006), zp=-9)
    g = fc(b, "g12", h, 1, 12, 12, np.linspace(0.008, 0.012, 12), zp=3, out_scale=0.12)
    s = b.act("s", (1, 12), 0.15, -5)
    b.node("add", "res", [g, h], s, activation="relu")
    out = b.act("out", (1, 12), 0.2, 7)
    k = b.const("k", b.rng.integers(-128, 128, (1, 12)).astype(np.int8), "int8", b.g.tensor(s).quant)
    b.node("add", "add_const", [s, k], out, activation="none")
    b.g.outputs = [out]
    return b.g


def adds_graph() -> Graph:
    """Element-wise adds of 123, 21 and 18 values (every tail of a 4-value round): a broadcast constant (relu,
    output zero point -128), two activations of different scales (relu6: bounds inside the int8 range on both
    sides), a tensor added to itself with twice its scale (halves, rounded away from zero), input zero points 127
    and -128, relu above zero point 10, and an add in place."""
    b = Builder("adds", 44)
    x = b.act("x", (1, 3, 41), 0.05, 0)
    b.g.inputs = [x]
    k = b.const("k", b.rng.integers(-128, 128, (1, 1, 41)).astype(np.int8), "int8", q(0.03, -128))
    h1 = b.act("h1", (1, 3, 41), 0.07, -128)
    b.node("add", "bcast", [x, k], h1, activation="relu")
    h2 = b.act("h2", (1, 3, 41), 0.045, -100)
    b.node("add", "scales", [x, h1], h2, activation="relu6")
    h3 = b.act("h3", (1, 3, 41), 0.09, 0)
    b.node("add", "self", [h2, h2], h3, activation="none")
    f7 = fc(b, "f41", h3, 3, 41, 7, np.linspace(0.004, 0.006, 7), zp=127, out_scale=0.5)
    k2 = b.const("k2", b.rng.integers(-128, 128, (1, 3, 7)).astype(np.int8), "int8", q(0.05, -128))
    h4 = b.act("h4", (1, 3, 7), 0.15, 3)
    b.node("add", "extreme_zps", [f7, k2], h4, activation="none")
    g = fc(b, "f7", h4, 3, 7, 6, np.linspace(0.01, 0.02, 6), zp=-5)
    h = fc(b, "f6", g, 3, 6, 6, np.full(6, 0.02), zp=2, out_scale=0.13)
    y = b.act("y", (1, 3, 6), 0.21, 10)
    b.node("add", "in_place", [g, h], y, activation="relu")
    b.g.outputs = [y]
    return b.g


def pairs_graph() -> Graph:
    """3 rows: 100 -> 16 (one 64-byte round of the paired kernel and 9 words; passes of 3, 3 and 2 pairs; per
    unit) -> 16 (one multiplier, relu6) -> 10 (passes of 3 and 2 pairs, output zero point 127)."""
    b = Builder("pairs", 45)
    x = b.act("x", (1, 3, 100), 0.05, 9)
    b.g.inputs = [x]
    h = fc(b, "p100", x, 3, 100, 16, np.linspace(0.002, 0.004, 16), zp=-6)
    h = fc(b, "p16", h, 3, 16, 16, np.full(16, 0.01), zp=-128, act="relu6", out_scale=0.03)
    b.g.outputs = [fc(b, "p16b", h, 3, 16, 10, np.linspace(0.01, 0.02, 10), zp=127, out_scale=0.3)]
    return b.g


def wide_graph() -> Graph:
    """2 rows: 75 -> 45 (odd depth; passes of 20, 20 and 5 units; per unit) -> 64 (odd depth; 20, 20, 20 and 4;
    one multiplier, relu6) -> 41 (20, 20 and 1; output zero point 127) -> 36 (odd depth; 20 and 16): layers the
    pair-sums kernel takes on rv32imc, their input words formed as it goes or once per row in scratch."""
    b = Builder("wide", 47)
    x = b.act("x", (1, 2, 75), 0.05, -2)
    b.g.inputs = [x]
    h = fc(b, "w75", x, 2, 75, 45, np.linspace(0.002, 0.004, 45), zp=5)
    h = fc(b, "w45", h, 2, 45, 64, np.full(64, 0.006), zp=-128, act="relu6", out_scale=0.03)
    h = fc(b, "w64", h, 2, 64, 41, np.linspace(0.004, 0.008, 41), zp=127, out_scale=0.2)
    b.g.outputs = [fc(b, "w41", h, 2, 41, 36, np.linspace(0.005, 0.01, 36), zp=-3)]
    return b.g


GRAPHS = {"mlp": mlp_graph, "deep": deep_graph, "adds": adds_graph, "pairs": pairs_graph, "wide": wide_graph}
GENERAL = "adds_general"  # adds_graph with every add as TFLM computes it (no linear form)


@pytest.fixture(scope="module", params=sorted(GRAPHS) + [GENERAL])
def case(request) -> tuple[Plan, np.ndarray, np.ndarray]:
    lowered = lower(GRAPHS[request.param.removesuffix("_general")]())
    if request.param == GENERAL:
        for step in lowered.steps:
            step.params["linear"] = None
    plan = plan_memory(lowered)
    x = random_batch(plan, N_INPUTS, seed=43)
    return plan, x, run_plan(plan, [x])[plan.graph.outputs[0]]


def test_graphs_are_what_they_say() -> None:
    """The layers stay dense fully connected with the depths the docstrings name, and the outputs are not
    constant (a change that saturated every value would hide wrong sums)."""
    steps = {s.node: s for g in GRAPHS.values() for s in lower(g()).steps}
    depths = {n: steps[n].params["depth"] for n in steps if steps[n].kernel.startswith("fully_connected")}
    assert all(steps[n].kernel == "fully_connected_s8" for n in depths)
    assert all(int(n[1:]) == d for n, d in depths.items() if n.startswith("f"))
    assert steps["f40"].params["rows"] == 2 and steps["f1400"].params["depth"] == 1400
    for name, make in GRAPHS.items():
        plan = plan_memory(lower(make()))
        y = run_plan(plan, [random_batch(plan, N_INPUTS, seed=43)])[plan.graph.outputs[0]]
        assert len(np.unique(y)) > 6, f"{name}: the outputs hardly vary"


def test_adds_are_what_they_say() -> None:
    """adds_graph's adds take the linear form (the general path has its own case), cover every tail length,
    bounds inside the int8 range, a broadcast constant and an output written over an input."""
    plan = plan_memory(lower(adds_graph()))
    adds = {s.node: s for s in plan.steps if s.kernel == "add_s8"}
    assert len(adds) == 5 and all(s.params["linear"] for s in adds.values())
    assert {s.params["size"] % 4 for s in adds.values()} == {3, 1, 2}
    assert (adds["scales"].params["act_min"], adds["scales"].params["act_max"]) == (-100, 33)
    assert adds["in_place"].params["act_min"] == 10 and "other" in adds["bcast"].consts
    step = adds["in_place"]
    where = {t: (plan.buffers[t].region, plan.buffers[t].offset) for t in (*step.inputs, *step.outputs)}
    assert where[step.outputs[0]] in [where[t] for t in step.inputs]


def test_paired_layers_are_what_they_say() -> None:
    """On a DSP board the layers of whole input words and units in pairs take the paired kernel, their passes
    of three, two and one pair, rounds and input tails; the 1400-deep layer's sums would not fit 256 x int32's
    share and a second unit's -128 beside a negative first-unit weight keeps a layer off it."""
    board = load_board("nucleo-l4r5zi")
    paired = {s.node for make in GRAPHS.values() for s in for_core(plan_memory(lower(make())), board).steps
              if s.params.get("paired")}
    assert paired == {"f52", "f20", "f12", "f16", "g12", "p100", "p16", "p16b"}
    step = next(s for s in lower(mlp_graph()).steps if s.node == "f16")
    assert fc_paired(step)
    w = step.consts["weights"].copy()
    w[0, 3], w[1, 3] = -5, -128
    step.consts["weights"] = w
    assert not fc_paired(step)


def test_paired_layout() -> None:
    """fc_paired_weights keeps every weight: unit u's weight k is the byte the plain C path reads (A's byte, or
    B's plus the borrow of a negative A byte), for passes of three pairs and a last one of one and of two."""
    rng = np.random.default_rng(7)
    for units, depth in ((14, 8), (10, 24), (6, 4)):
        w = rng.integers(-127, 128, (units, depth)).astype(np.int8)
        packed = fc_paired_weights(w)
        assert packed.dtype == np.int8 and packed.size == w.size
        pairs = units // 2
        for u in range(units):
            p = u // 2
            n = min(3, pairs - p // 3 * 3)
            base = p // 3 * 6 * depth + p % 3 * 8
            for k in range(depth):
                h = base + k // 4 * 8 * n + k % 2 * 4 + k // 2 % 2 * 2
                got = packed[h + 1] + (packed[h] < 0) if u % 2 else packed[h]
                assert got == w[u, k], (units, depth, u, k)


@pytest.mark.parametrize("path", ["simd32", "gcc", "clang"])
def test_paired_library_on_host(case, path: str, tmp_path) -> None:
    """A DSP board's library (paired layers) on the host: its DSP path emulated under ASan/UBSan (the sums
    wrap as the instructions do), and as plain C with gcc and clang (the layout read one product at a time)."""
    plan, x, ref = case
    dsp = for_core(plan, load_board("nucleo-l4r5zi"))
    gen = generate_into(dsp, tmp_path, plan.graph.name)
    flags = SANITIZE + [EMULATIONS["simd32"]] if path == "simd32" else HOST[path]
    exe = build(gen, "gcc" if path == "simd32" else path, flags, path)
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{plan.graph.name}, paired, {path}")


def pair_sums_emulated(words: np.ndarray, bias: np.ndarray, x: np.ndarray, units: int) -> np.ndarray:
    """The pair-sums kernel's arithmetic as the C does it, modulo 2**32: the row's terms, then per pass of units
    and input pair the product of the two lanes of x0 + (x1 << 20) plus the unit's word."""
    depth = x.size
    xs = np.concatenate([x.astype(np.int64), np.full(depth % 2, -128, np.int64)])
    xv = (xs[0::2] + (xs[1::2] << 20)) % 2**32
    full = x[:depth - depth % 2].astype(np.int64)
    rs = ((full[0::2] + 256) * (full[1::2] + 256)).sum() + (128 * int(x[-1]) if depth % 2 else 0)
    pairs, acc = xv.size, []
    for u0 in range(0, units, FC_PAIR_SUMS_UNITS):
        n = min(FC_PAIR_SUMS_UNITS, units - u0)
        w = words[u0 * pairs:(u0 + n) * pairs].astype(np.int64).reshape(pairs, n) % 2**32
        s = (xv[:, None] + w) % 2**32
        lo, hi = s % 2**20, s >> 20
        assert lo.max() <= 510 and hi.max() <= 510  # the lanes stay apart
        assert np.array_equal(((s * ((s << 12) % 2**32)) >> 32), lo * hi)  # the high word is their product
        acc += list((bias[u0:u0 + n].astype(np.int64) - rs + (lo * hi).sum(axis=0)) % 2**32)
    return ((np.array(acc) + 2**31) % 2**32 - 2**31).astype(np.int64)


@pytest.mark.parametrize("units, depth", [(45, 37), (20, 8), (3, 2), (41, 128)])
def test_pair_sums_arithmetic(units: int, depth: int) -> None:
    """The pair-sums words and bias (kernels.fc_pair_sums_consts) give the exact sums bias + w . x for every
    unit, over random rows and the extremes (every input -128 or 127, weights -128 and 127), odd depths and a
    last pass of fewer units."""
    rng = np.random.default_rng(units * depth)
    w = rng.integers(-128, 128, (units, depth)).astype(np.int8)
    w[0], w[1, ::2] = -128, 127
    bias = rng.integers(-2**20, 2**20, units).astype(np.int32)
    step = next(s for s in lower(mlp_graph()).steps if s.node == "f40")
    step.params = step.params | {"units": units, "depth": depth}
    step.consts = {**step.consts, "weights": w, "bias": bias}
    consts = fc_pair_sums_consts(step)
    assert consts["weights"].dtype == np.int32 and consts["weights"].size == units * ((depth + 1) // 2)
    rows = [np.full(depth, -128), np.full(depth, 127), *rng.integers(-128, 128, (30, depth))]
    for x in rows:
        exact = bias.astype(np.int64) + w.astype(np.int64) @ x.astype(np.int64)
        assert np.array_equal(pair_sums_emulated(consts["weights"], consts["bias"], x.astype(np.int8), units), exact)


def test_pair_sums_layers_are_what_they_say() -> None:
    """On rv32imc the layers of at least 8 units and 1024 weights take the pair-sums kernel but under size, and
    under balanced only in models of mostly such layers (not mlp: f52 alone); their input words go to scratch
    where they take at most a quarter of the model's RAM (balanced) or all of it (speed)."""
    board = load_board("esp32-c3")
    chosen = {goal: {s.node: bool(s.params.get("pair_words")) for make in GRAPHS.values()
                     for s in for_core(plan_memory(lower(make())), board, goal).steps if s.params.get("pair_sums")}
              for goal in ("balanced", "speed", "size")}
    assert chosen["size"] == {}
    assert chosen["balanced"] == {"f700": False, "f9": True, "f1400": False, "p100": False,
                                  "w75": False, "w45": True, "w64": False, "w41": True}
    assert chosen["speed"] == {"f52": True, "f700": True, "f9": True, "f1400": False, "p100": True,
                               "w75": True, "w45": True, "w64": True, "w41": True}
    step = next(s for s in for_core(plan_memory(lower(wide_graph())), board).steps if s.node == "w45")
    assert step.scratch == 4 * 23


def test_pair_sums_take_models_of_mostly_fully_connected_work() -> None:
    """balanced takes the pair-sums kernel (two bytes a weight) only where fully connected layers do at least half
    of the MACs: beside a convolution of 20x their MACs the same layers keep their bytes; speed takes it."""
    board = load_board("esp32-c3")
    fcs = plan_memory(lower(wide_graph())).steps
    convs = plan_memory(lower(conv_graph(sum(s.macs for s in fcs)))).steps
    assert takes_pair_sums(fcs, board, "balanced") and not takes_pair_sums(fcs, board, "size")
    assert not takes_pair_sums(fcs + convs, board, "balanced") and takes_pair_sums(fcs + convs, board, "speed")
    assert not takes_pair_sums(fcs, load_board("nucleo-f103rb"), "speed")  # a Cortex-M3: MLA, no MULHU gain


def conv_graph(fc_macs: int) -> Graph:
    """A 1x1 convolution of about 20 x fc_macs MACs."""
    b = Builder("conv_heavy", 46)
    pixels = 20 * fc_macs // (32 * 32)
    x = b.act("x", (1, 1, pixels, 32), 0.05, 0)
    b.g.inputs = [x]
    b.g.outputs = [conv(b, "c", x, (1, 1, pixels, 32), (32, 1, 1, 32), np.full(32, 0.004))]
    return b.g


PAIR_SUMS_GOALS = ("balanced", "speed")


@pytest.mark.parametrize("goal", PAIR_SUMS_GOALS)
@pytest.mark.parametrize("path", ["sanitized", "gcc", "clang"])
def test_pair_sums_library_on_host(case, goal: str, path: str, tmp_path) -> None:
    """An rv32imc board's library (pair-sums layers) on the host: gcc under ASan/UBSan, and gcc and clang at
    -Wall -Wextra -Werror."""
    plan, x, ref = case
    rv = for_core(plan, load_board("esp32-c3"), goal)
    gen = generate_into(rv, tmp_path, plan.graph.name)
    exe = build(gen, "gcc" if path == "sanitized" else path, SANITIZE if path == "sanitized" else HOST[path], path)
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{plan.graph.name}, pair sums ({goal}), {path}")


def test_pair_sums_speed_on_board(case) -> None:
    """The speed goal's library (every input row's words in scratch where they fit) on the emulated ESP32-C3
    (the balanced one: test_on_board)."""
    plan, x, ref = case
    got, _ = run_model(plan, [x], "esp32-c3", "speed")
    assert_equal_bytes(got[0], ref, f"{plan.graph.name}, pair sums (speed) on esp32-c3")


test_on_board, test_emulated_on_host, test_plain_c_on_host = path_tests(BOARDS)
