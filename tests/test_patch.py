"""Patch-based execution by row bands (tinyc/memory/patch.py): a model's first layers run band by band of their
last output's rows give the unbanded plan's bytes, on the reference runtime for every stage and band count of
two test graphs (strides 1 and 2, padding at the top only, the bottom only or both, dilation, depthwise, pools,
a first conv of 3 channels), on the host under ASan/UBSan and through the DSP emulation, and on the emulated
Cortex-M4F, M55, M0+ and rv32imc; the input's row slices and the join are views (no copies); the choice keeps
its rules; MLPerf's VWW runs in bands at well under its unbanded arena; and the CLI takes --patch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.test_codegen import HOST, build, generate_into, run_exe
from tests.test_codegen_kernels import EMULATIONS, SANITIZE, Builder, assert_equal_bytes, random_batch
from tests.test_conv_pool_paths import avg_pool, conv
from tinyc.cli import main
from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.memory.patch import (
    BANDS,
    MAX_ABOVE_BOUND,
    MAX_EXTRA_MACS,
    MIN_CUT,
    halo_macs,
    patched_graph,
    patched_plan,
    stage_chain,
)
from tinyc.pipeline import run_on_target
from tinyc.runtime import run_plan

N_INPUTS = 40  # per graph and plan: all zeros, all -128, all 127, then random


def depthwise(b: Builder, name: str, src: str, out: tuple, stride: int, pads: tuple, dilation: int = 1,
              act: str = "none", zp: int = 0) -> str:
    n = out[3]
    y = b.act(name, out, 0.07, zp)
    ins = [src, b.weights(f"{name}_w", (1, 3, 3, n), 3, np.linspace(0.004, 0.008, n)), b.bias(f"{name}_b", n)]
    b.node("depthwise_conv2d", name, ins, y, stride=(stride, stride), dilation=(dilation, dilation), pads=pads,
           depth_multiplier=1, activation=act)
    return y


def rgb_stem() -> Graph:
    """128x16x3 -> conv 3x3/2 (padding bottom/right only, relu6) -> depthwise 3x3 padded -> conv 1x1 16 ->
    depthwise 3x3/2 (bottom/right) -> max pool 2x2 -> depthwise 3x3 dilation 2 (padding 2) -> average pool 3x3
    padded -> conv 1x1 8 (the chain's end: an add reads it) -> add of itself. TFLite's SAME padding
    throughout, so the CLI test can write it as a .tflite."""
    b = Builder("rgb_stem", 61)
    x = b.act("x", (1, 128, 16, 3), 0.05, -128)
    b.g.inputs = [x]
    c0 = conv(b, "c0", x, (1, 64, 8, 8), (8, 3, 3, 3), np.linspace(0.003, 0.006, 8), (2, 2), pads=(0, 0, 1, 1),
              act="relu6", zp=-128)
    d1 = depthwise(b, "d1", c0, (1, 64, 8, 8), 1, (1, 1, 1, 1), act="relu", zp=-20)
    c2 = conv(b, "c2", d1, (1, 64, 8, 16), (16, 1, 1, 8), np.linspace(0.002, 0.005, 16), zp=3)
    d3 = depthwise(b, "d3", c2, (1, 32, 4, 16), 2, (0, 0, 1, 1), zp=-7)
    p4 = b.act("p4", (1, 31, 3, 16), float(b.g.tensor(d3).quant.scale[0]), -7)
    b.node("max_pool2d", "p4", [d3], p4, kernel=(2, 2), stride=(1, 1), pads=(0, 0, 0, 0), activation="none")
    d5 = depthwise(b, "d5", p4, (1, 31, 3, 16), 1, (2, 2, 2, 2), dilation=2, zp=5)
    p6 = avg_pool(b, "p6", d5, (1, 31, 3, 16), (3, 3), pads=(1, 1, 1, 1))
    c7 = conv(b, "c7", p6, (1, 31, 3, 8), (8, 1, 1, 16), np.full(8, 0.006), zp=-1)
    y = b.act("y", (1, 31, 3, 8), 0.1, 2)
    b.node("add", "twice", [c7, c7], y, activation="none")
    b.g.outputs = [y]
    return b.g


def flat() -> Graph:
    """12x10x8 -> depthwise 3x3 padded -> conv 1x1 8 -> add of itself: every tensor the same size, the add's
    step as full as the chain's, so bands cannot cut the arena."""
    b = Builder("flat", 63)
    x = b.act("x", (1, 12, 10, 8), 0.05, 1)
    b.g.inputs = [x]
    d0 = depthwise(b, "d0", x, (1, 12, 10, 8), 1, (1, 1, 1, 1), zp=-3)
    c1 = conv(b, "c1", d0, (1, 12, 10, 8), (8, 1, 1, 8), np.linspace(0.004, 0.006, 8), zp=2)
    y = b.act("y", (1, 12, 10, 8), 0.1, 0)
    b.node("add", "twice", [c1, c1], y, activation="none")
    b.g.outputs = [y]
    return b.g


def tall() -> Graph:
    """A tall one-channel input: 41x6x1 -> conv 5x3 padded top 2 / bottom 2 (relu) -> depthwise 3x3/2 with
    padding at the top only -> conv 3x3 valid; the whole graph is the chain."""
    b = Builder("tall", 62)
    x = b.act("x", (1, 41, 6, 1), 0.04, 9)
    b.g.inputs = [x]
    c0 = conv(b, "c0", x, (1, 41, 6, 12), (12, 5, 3, 1), np.linspace(0.004, 0.009, 12), pads=(2, 1, 2, 1),
              act="relu", zp=-128)
    d1 = depthwise(b, "d1", c0, (1, 20, 3, 12), 2, (1, 1, 0, 1), zp=4)
    b.g.outputs = [conv(b, "c2", d1, (1, 18, 1, 5), (5, 3, 3, 12), np.linspace(0.003, 0.005, 5), zp=-3)]
    return b.g


def wide_stem() -> Graph:
    """64x32x3 -> conv 3x3 padded 8 -> depthwise 3x3/2 -> conv 1x1 16 -> average pool 2x2/2 -> fc 10: about 26
    KiB of arena and I/O unbanded, more than nucleo-f103rb's 20 KiB of RAM; about 18 KiB in bands."""
    b = Builder("wide_stem", 64)
    x = b.act("x", (1, 64, 32, 3), 0.05, -128)
    b.g.inputs = [x]
    c0 = conv(b, "c0", x, (1, 64, 32, 8), (8, 3, 3, 3), np.linspace(0.003, 0.006, 8), pads=(1, 1, 1, 1),
              act="relu", zp=-128)
    d1 = depthwise(b, "d1", c0, (1, 32, 16, 8), 2, (0, 0, 1, 1), zp=-4)
    c2 = conv(b, "c2", d1, (1, 32, 16, 16), (16, 1, 1, 8), np.linspace(0.002, 0.004, 16), zp=1)
    p3 = avg_pool(b, "p3", c2, (1, 16, 8, 16), (2, 2), (2, 2))
    f = b.act("f", (1, 2048), float(b.g.tensor(p3).quant.scale[0]), int(b.g.tensor(p3).quant.zero_point[0]))
    b.node("reshape", "flatten", [p3], f)
    y = b.act("y", (1, 10), 0.2, 3)
    ins = [f, b.weights("fc_w", (10, 2048), 0, np.full(10, 0.0005)), b.bias("fc_b", 10)]
    b.node("fully_connected", "fc", ins, y, activation="none")
    b.g.outputs = [y]
    return b.g


GRAPHS = {"rgb_stem": rgb_stem, "tall": tall}


def test_stage_chain() -> None:
    assert [n.name for n in stage_chain(rgb_stem())] == ["c0", "d1", "c2", "d3", "p4", "d5", "p6", "c7"]
    assert [n.name for n in stage_chain(tall())] == ["c0", "d1"]  # c2 writes the graph output
    assert [n.name for n in stage_chain(flat())] == ["d0", "c1"]


@pytest.mark.parametrize("key", sorted(GRAPHS))
def test_every_stage_and_band_count_gives_the_same_bytes(key: str) -> None:
    graph = GRAPHS[key]()
    base = plan_memory(lower(graph))
    x = random_batch(base, N_INPUTS, seed=5)
    want = run_plan(base, [x])[graph.outputs[0]]
    chain = stage_chain(graph)
    tried = 0
    for end in range(2, len(chain) + 1):
        rows = graph.tensor(chain[end - 1].outputs[0]).shape[1]
        for bands in sorted({2, 3, 5, rows}):
            if bands > rows:
                continue
            plan = plan_memory(lower(patched_graph(graph, chain[:end], bands)))
            got = run_plan(plan, [x])[graph.outputs[0]]
            assert_equal_bytes(got, want, f"{key}: {end} layers in {bands} bands")
            tried += 1
    assert tried >= (20 if key == "rgb_stem" else 4)


def test_slices_and_join_are_views() -> None:
    """The input rows each band reads sit in the caller's input buffer, each band's last output in the joined
    tensor's bytes: the slice and concatenation steps copy nothing."""
    graph = rgb_stem()
    plan = plan_memory(lower(patched_graph(graph, stage_chain(graph)[:4], 3)))
    copies = [s for s in plan.steps if s.kernel == "copy"]
    assert len(copies) == 4  # 3 slices, 1 join
    for step in copies:
        assert len(step.elided) == len(step.params["blocks"]), step.node
    for step in copies[:3]:
        assert plan.buffers[step.outputs[0]].region == "input"


def banded():
    graph = rgb_stem()
    base = plan_memory(lower(graph))
    plan = plan_memory(lower(patched_graph(graph, stage_chain(graph)[:6], 3)))
    x = random_batch(base, N_INPUTS, seed=6)
    return plan, x, run_plan(base, [x])[graph.outputs[0]]


@pytest.mark.parametrize("board", ["nucleo-l4r5zi", "corstone-300", "rpi-pico", "esp32-c3"])
def test_bands_on_board(board: str) -> None:
    plan, x, want = banded()
    got, _ = run_on_target(plan, x, board)
    assert_equal_bytes(got, want, f"rgb_stem in bands on {board}")


@pytest.mark.parametrize("path", ["plain", "simd32"])
def test_bands_on_host_sanitized(path: str, tmp_path) -> None:
    plan, x, want = banded()
    flags = SANITIZE + ([EMULATIONS[path]] if path in EMULATIONS else [])
    exe = build(generate_into(plan, tmp_path, "rgb_stem"), "gcc", flags, path)
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], want, f"rgb_stem in bands, {path} under ASan/UBSan")


def test_bands_with_clang(tmp_path) -> None:
    plan, x, want = banded()
    exe = build(generate_into(plan, tmp_path, "rgb_stem"), "clang", HOST["clang"], "clang")
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], want, "rgb_stem in bands, clang")


def test_choice_keeps_its_rules() -> None:
    graph = rgb_stem()
    base = plan_memory(lower(rgb_stem()))
    plan = patched_plan(graph)
    p = plan.patch
    assert p is not None and p.unpatched_arena == base.arena_size and p.unpatched_lower_bound == base.lower_bound
    assert plan.arena_size <= (1 - MIN_CUT) * base.arena_size
    assert plan.arena_size <= (1 + MAX_ABOVE_BOUND) * plan.lower_bound
    macs = sum(s.macs for s in base.steps)
    assert sum(s.macs for s in plan.steps) - macs == p.extra_macs <= MAX_EXTRA_MACS * macs
    assert p.bands in BANDS and list(p.nodes) == [n.name for n in stage_chain(graph)[:len(p.nodes)]]
    assert p.extra_macs == halo_macs(graph, stage_chain(graph)[:len(p.nodes)], p.bands)
    # no stage and band count does better within the rules
    chain = stage_chain(graph)
    for end in range(2, len(chain) + 1):
        for bands in BANDS:
            if bands > graph.tensor(chain[end - 1].outputs[0]).shape[1] \
                    or halo_macs(graph, chain[:end], bands) > MAX_EXTRA_MACS * macs:
                continue
            other = plan_memory(lower(patched_graph(graph, chain[:end], bands)), reorder=False)
            if other.arena_size <= (1 + MAX_ABOVE_BOUND) * other.lower_bound:
                assert other.arena_size >= plan.arena_size
    assert patched_plan(graph, "off").patch is None


def test_no_bands_where_they_do_not_pay() -> None:
    plan = patched_plan(flat())
    assert plan.patch is None and plan.arena_size == plan_memory(lower(flat())).arena_size


def test_mlperf_vww_in_bands(models_dir) -> None:
    model = models_dir / "mlperf_tiny" / "vww" / "vww_96_int8.tflite"
    from tinyc.frontends import load_model

    base = plan_memory(lower(load_model(model)))
    plan = patched_plan(load_model(model))
    assert plan.patch is not None and plan.arena_size <= 0.7 * base.arena_size
    x = random_batch(base, 8, seed=7)
    want = run_plan(base, [x])[base.graph.outputs[0]]
    assert_equal_bytes(run_plan(plan, [x])[plan.graph.outputs[0]], want, "VWW in bands, reference runtime")
    got, report = run_on_target(plan, x[:3], "nucleo-l4r5zi")
    assert_equal_bytes(got, want[:3], "VWW in bands on nucleo-l4r5zi")
    assert report["ram"]["arena"] == plan.arena_size


def test_bands_to_fit_the_board(tmp_path) -> None:
    """A plan too big for the board's RAM is compiled in bands (without --patch) when they make it fit, and
    gives the reference's bytes there; the report says so."""
    from tinyc.boards import load_board
    from tinyc.pipeline import compile_library, memory_needs

    plan = plan_memory(lower(wide_stem()))
    board = load_board("nucleo-f103rb")
    assert memory_needs(plan)[1] > board.ram_bytes
    report = compile_library(plan, tmp_path / "lib", board.id, "wide")
    assert report["totals"]["patch"] is not None
    assert report["totals"]["arena_bytes"] + 6154 <= board.ram_bytes
    x = random_batch(plan, 12, seed=9)
    got, run = run_on_target(plan, x, board.id)
    assert_equal_bytes(got, run_plan(plan, [x])[plan.graph.outputs[0]], "wide_stem in bands on nucleo-f103rb")
    assert run["ram"]["arena"] == report["totals"]["arena_bytes"]
    from tinyc.export import write_tflite

    write_tflite(wide_stem(), tmp_path / "wide.tflite")
    r = CliRunner().invoke(main, ["compile", str(tmp_path / "wide.tflite"), "--board", board.id, "-o",
                                  str(tmp_path / "out")])
    assert r.exit_code == 0 and "layers in 4 row bands" in r.output, r.output


def test_cli_patch(tmp_path) -> None:
    graph = rgb_stem()
    from tinyc.export import write_tflite

    model = tmp_path / "stem.tflite"
    write_tflite(graph, model)
    x = random_batch(plan_memory(lower(graph)), 4, seed=8)
    np.save(tmp_path / "x.npy", x)
    runner = CliRunner()
    outs = []
    for flags in ([], ["--patch"]):
        out = tmp_path / f"y{len(flags)}.npy"
        r = runner.invoke(main, ["run", str(model), "-i", str(tmp_path / "x.npy"), "-o", str(out),
                                 "--target", "host", *flags])
        assert r.exit_code == 0, r.output
        outs.append(np.load(out))
    assert np.array_equal(outs[0], outs[1])
    lib = tmp_path / "lib"
    r = runner.invoke(main, ["compile", str(model), "--board", "nucleo-l4r5zi", "--patch", "-o", str(lib)])
    assert r.exit_code == 0, r.output
    totals = json.loads((lib / "report.json").read_text())["totals"]
    assert totals["patch"]["bands"] in BANDS and totals["arena_bytes"] < totals["patch"]["unpatched_arena_bytes"]
    doc = tmp_path / "bench.json"
    r = runner.invoke(main, ["bench", "-m", str(model), "-b", "nucleo-l4r5zi", "--inputs", "2", "--patch",
                             "--json", str(doc)])
    assert r.exit_code == 0, r.output
    matrix = json.loads(doc.read_text())
    row = matrix["rows"][0]
    assert "--patch" in matrix["command"] and row["bit_exact"] is True
    assert row["ram"]["arena"] == totals["arena_bytes"]
    from tinyc.platformio.firmware import create_firmware

    project = create_firmware(model, "nucleo-l4r5zi", tmp_path / "fw", patch=True)
    lib_report = json.loads((tmp_path / "fw" / "lib" / "model" / "report.json").read_text())
    assert lib_report["totals"]["patch"] == totals["patch"] and project.board.id == "nucleo-l4r5zi"


def test_float_mobilenet_v2_96_fits_the_l4r5_in_bands(tmp_path) -> None:
    """torch's MobileNetV2 (0.35) at 96x96, float, through ONNX (its NCHW input transposed first): 649 KiB of
    arena and I/O unbanded, more than the NUCLEO-L4R5ZI's 640; compiled for it, its first layers go in bands
    and it runs there with the reference runtime's bytes."""
    pytest.importorskip("torch")
    from tests import onnx_exports
    from tinyc.boards import load_board
    from tinyc.pipeline import build_plan, memory_needs, run_model

    e = onnx_exports.build_mobilenet_v2(tmp_path / "mnv2_96.onnx", size=96)
    plan = build_plan(e.path)
    board = load_board("nucleo-l4r5zi")
    assert plan.patch is None and memory_needs(plan)[1] > board.ram_bytes
    x = e.inputs(2, seed=4)
    want = run_plan(plan, [x])[plan.graph.outputs[0]]
    got, report = run_model(plan, [x], board.id)
    assert got[0].tobytes() == want.tobytes()
    assert report["ram"]["total"] <= board.ram_bytes
