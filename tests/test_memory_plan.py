"""The memory plan below the greedy one (tinyc/memory): element-wise steps written over an input that dies there
(either operand of an add), a conv's output over the input rows it has finished reading (window.py), an execution
order for a small arena (order.py) and the lower bound the plan is measured against.

Every plan here is checked for: steps in an order the graph allows, no two buffers live at one step sharing a
byte unless they are one group or a tied pair placed as the tie allows, sharing only with an input that dies at
the step, and lower bound <= arena. The synthetic models' reference outputs equal TFLM's on N inputs (the order
changes no bytes); the generated C equals the reference under ASan/UBSan, at -O2 and on emulated cores, and a
plan that overlaps a conv's buffers one pixel too far gives other bytes (the tests see broken aliasing).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import MODELS
from tests.helpers import tflm_run
from tests.single_op import random_input
from tests.test_codegen import HOST, SANITIZE, build, generate_into, run_exe
from tests.test_memory_views import Model, new
from tinyc import memory
from tinyc.boards import load_board
from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.lower.plan import Plan
from tinyc.memory import plan_memory, window
from tinyc.memory.views import INPLACE, Layout, layout
from tinyc.pipeline import run_model
from tinyc.runtime import run_plan

N = 100  # random inputs per model
MLPERF = {"kws": "kws/kws_ref_model.tflite", "ic": "ic/pretrainedResnet_quant.tflite",
          "ad": "ad/ad01_int8.tflite", "vww": "vww/vww_96_int8.tflite", "sww": "sww/str_ww_ref_model.tflite"}
BOARDS = ("nucleo-l4r5zi", "corstone-300", "rpi-pico", "esp32-c3")  # DSP, Helium, plain Thumb, RISC-V paths
BOARD_INPUTS = 25  # of the N (an emulator run has a time limit)


def residual() -> Model:
    """Residual blocks as ResNet's: adds whose first, second or both operands die there, one whose result is
    the graph output, a stand-alone requantizing ReLU and a LOGISTIC (table) between convs."""
    m = new("residual", 11)
    x = m.act("x", (1, 12, 12, 8), (0.04, 1))
    m.g.inputs = [x]
    c0 = m.conv("c0", x, 8, 3, activation="relu")
    c1 = m.conv("c1", c0, 16, 3, activation="relu")  # the peak: c0, c1 and c2 live, c1 dying
    c2 = m.conv("c2", c1, 8, 3)
    a0 = m.act("a0", (1, 12, 12, 8), (0.06, -2))
    m.op("add", [c0, c2], [a0], activation="relu")  # both die: over the first
    b = m.conv("b", a0, 8, 1)
    a1 = m.act("a1", (1, 12, 12, 8), (0.07, 3))
    m.op("add", [a0, b], [a1], activation="none")  # a0 read later: over the second
    r = m.act("r", (1, 12, 12, 8), (0.03, -5))
    m.op("relu", [a1], [r], activation="relu")
    c3 = m.conv("c3", r, 8, 3)
    lg = m.act("lg", (1, 12, 12, 8), (1 / 256, -128))
    m.op("logistic", [c3], [lg])
    c4 = m.conv("c4", lg, 8, 1)
    y = m.act("y", (1, 12, 12, 8), (0.08, 0))
    m.op("add", [c4, a0], [y], activation="none")  # into the caller's output buffer
    m.g.outputs = [y, m.pool("side", r, 4, "avg_pool2d")]
    return m


def branches() -> Model:
    """Two wide branches listed breadth first: run depth first, one wide tensor is live at a time."""
    m = new("branches", 12)
    x = m.act("x", (1, 10, 10, 4), (0.04, 1))
    m.g.inputs = [x]
    c = m.conv("c", x, 4, 1, activation="relu")
    wide = [m.conv(f"w{k}", c, 32, 3, activation="relu") for k in range(2)]
    thin = [m.conv(f"t{k}", w, 4, 1, q=(0.05 + 0.01 * k, -3)) for k, w in enumerate(wide)]
    y = m.act("y", (1, 10, 10, 4), (0.09, 0))
    m.op("add", thin, [y], activation="none")
    m.g.outputs = [y]
    return m


def _graph_order(monkeypatch: pytest.MonkeyPatch, graph: Graph) -> Plan:
    with monkeypatch.context() as mp:
        mp.setattr(memory, "memory_order", lambda plan: None)
        return plan_memory(lower(graph))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> list[tuple[Model, Plan, list[np.ndarray], Path]]:
    """Each model through TFLite and back, its reference outputs equal to TFLM's on N inputs."""
    folder = tmp_path_factory.mktemp("plan")
    out = []
    for k, make in enumerate((residual, branches)):
        m = make()
        m.g.verify()
        path = folder / f"{m.g.name}.tflite"
        write_tflite(m.g, path)
        graph = load_model(path)
        rng = np.random.default_rng(200 + k)
        xs = [random_input(graph.tensor(n), N, rng) for n in graph.inputs]
        plan = plan_memory(lower(graph))
        got = run_plan(plan, xs)
        for name, want in zip(graph.outputs, tflm_run(path, xs, len(graph.outputs)), strict=True):
            assert got[name].tobytes() == want.tobytes(), f"{m.g.name}: '{name}' differs from TFLM"
        out.append((m, plan, xs, path))
    return out


def mlperf_plans() -> list[tuple[str, Plan]]:
    if not MODELS.is_dir():
        pytest.skip("../shared/models not found: the third-party reference models are not in this checkout")
    return [(key, plan_memory(lower(load_model(MODELS / "mlperf_tiny" / path)))) for key, path in MLPERF.items()]


def check_plan(plan: Plan) -> None:
    """The plan's order is topological, no two live buffers share a byte beyond what the layout allows, and
    every shared input dies at its step."""
    graph = plan.graph
    produced = set(graph.inputs)
    for step in plan.steps:
        assert all(n in produced or graph.tensor(n).is_const for n in step.inputs), f"'{step.node}' runs too early"
        produced |= set(step.outputs)
    lay: Layout = layout(plan)  # the same decisions again (deterministic), to name groups and ties
    last = {n: i for i, s in enumerate(plan.steps) for n in s.inputs}
    first = {n: i for i, s in enumerate(plan.steps) for n in s.outputs}
    ties = {(t.src, t.out): t for t in lay.ties}
    group: dict[str, list[str]] = {}
    for name, buf in plan.buffers.items():
        if buf.region == "arena" and ":" not in name:
            group.setdefault(lay.root(name)[0], []).append(name)
    span = {}
    for root, names in group.items():
        lo = min(plan.buffers[n].offset - lay.root(n)[1] for n in names)
        span[root] = (lo, lo + lay.extent(root), min(first.get(n, 0) for n in names),
                      max(last.get(n, first.get(n, 0)) for n in names))
    for i, step in enumerate(plan.steps):
        if step.scratch:
            off = plan.buffers[f"{step.node}:scratch"].offset
            span[f"{step.node}:scratch"] = (off, off + step.scratch, i, i)
    roots = sorted(span)
    for i, a in enumerate(roots):
        for b in roots[i + 1:]:
            (a0, a1, af, al), (b0, b1, bf, bl) = span[a], span[b]
            if al < bf or bl < af or a1 <= b0 or b1 <= a0:
                continue  # never live together, or apart
            t = ties.get((a, b)) or ties.get((b, a))
            assert t is not None, f"{plan.graph.name}: '{a}' and '{b}' overlap while both live"
            src, out = span[t.src], span[t.out]
            assert out[0] + t.offset <= src[0], f"{plan.graph.name}: '{t.out}' too close over '{t.src}'"
            assert max(last.get(n, -1) for n in lay.members(t.src)) <= t.step, t
    for name, kind in lay.kind.items():
        if kind == INPLACE:  # an element-wise output: the input it is written over is not read later
            src = lay.parent[name][0]
            step = first[name]
            assert all(last.get(m, -1) <= step for m in lay.members(lay.root(src)[0]) if m not in
                       lay.members(name)), name
    assert plan.lower_bound <= plan.arena_size


def test_mlperf_plans() -> None:
    """Every MLPerf Tiny plan keeps the invariants and is within 5% of its lower bound; IC ResNet-8's residual
    adds run in place and its convs over their inputs, below the peak of three separate 32x32x16 tensors."""
    for key, plan in mlperf_plans():
        check_plan(plan)
        assert plan.arena_size <= 1.05 * plan.lower_bound, (key, plan.arena_size, plan.lower_bound)
        if key == "ic":
            assert plan.arena_size < 3 * 32 * 32 * 16
            assert {s.kernel for s in plan.steps if s.inplace} == {"add_s8", "conv2d_s8"}


def test_synthetic_plans(synthetic, monkeypatch) -> None:
    res_plan = synthetic[0][1]
    check_plan(res_plan)
    kernels = [s.kernel for s in res_plan.steps if s.inplace]
    assert kernels.count("add_s8") == 3 and {"relu_s8", "lut_s8", "conv2d_s8"} <= set(kernels), kernels
    add1 = next(s for s in res_plan.steps if s.outputs == ["a1"])
    assert res_plan.buffers["a1"] == res_plan.buffers["b"]  # over its second operand: a0 is read later
    assert res_plan.buffers["y"].region == "output"
    assert add1.inplace
    wide, plan = synthetic[1][0], synthetic[1][1]
    check_plan(plan)
    ordered = [s.outputs[0] for s in plan.steps]
    assert ordered.index("t0") < ordered.index("w1") or ordered.index("t1") < ordered.index("w0"), ordered
    graph_order = _graph_order(monkeypatch, plan.graph)
    assert [s.outputs[0] for s in graph_order.steps] == [n.outputs[0] for n in wide.g.nodes]
    assert plan.arena_size < graph_order.arena_size


def test_no_overlap_without_ties(synthetic, monkeypatch) -> None:
    """Without the conv contract the plan keeps every conv's buffers apart, in place only element-wise."""
    monkeypatch.setattr(window, "ROW_MAJOR", frozenset())
    plan = plan_memory(lower(synthetic[0][1].graph))
    check_plan(plan)
    assert not layout(plan).ties and not any(s.inplace for s in plan.steps if s.kernel == "conv2d_s8")
    assert plan.arena_size > synthetic[0][1].arena_size


def test_random_orders_keep_invariants() -> None:
    """Plans of random branching residual graphs (lowered only: the planner's invariants, not the bytes)."""
    for seed in range(12):
        m = new(f"random{seed}", 300 + seed)
        rng = m.rng
        x = m.act("x", (1, 6, 6, 4), (0.04, 1))
        m.g.inputs = [x]
        live = [m.conv("c", x, 4, 3)]
        for k in range(10):
            src = live[rng.integers(len(live))]
            kind = rng.integers(3)
            if kind == 0:
                live.append(m.conv(f"k{k}", src, 4, int(rng.choice([1, 3]))))
            elif kind == 1 and len(live) > 1:
                other = live[rng.integers(len(live))]
                y = m.act(f"a{k}", (1, 6, 6, 4), (0.06, 0))
                m.op("add", [src, other], [y], activation="none")
                live.append(y)
            else:
                y = m.act(f"r{k}", (1, 6, 6, 4), (0.03, -1))
                m.op("relu", [src], [y], activation="relu")
                live.append(y)
        consumed = {n for node in m.g.nodes for n in node.inputs}
        m.g.outputs = [n for n in live if n not in consumed]
        m.g.verify()
        check_plan(plan_memory(lower(m.g)))


@pytest.fixture(scope="module")
def merged(synthetic) -> tuple[Plan, list[np.ndarray]]:
    """IC ResNet-8 when the models are there, else the residual model: the conv and add overlaps of both."""
    if MODELS.is_dir():
        plan = plan_memory(lower(load_model(MODELS / "mlperf_tiny" / MLPERF["ic"])))
        rng = np.random.default_rng(7)
        return plan, [random_input(plan.graph.tensor(plan.graph.inputs[0]), N, rng)]
    return synthetic[0][1], synthetic[0][2]


def test_generated_c_equals_reference(synthetic, merged, tmp_path) -> None:
    for plan, xs in [(p, x) for _, p, x, _ in synthetic] + [merged]:
        want = run_plan(plan, xs)
        gen = generate_into(plan, tmp_path / plan.graph.name, "plan")
        for cc, flags in (("gcc", SANITIZE), ("clang", HOST["clang"]), ("gcc", HOST["gcc"])):
            exe = build(gen, cc, flags, f"{cc}{len(flags)}")
            for name, got in zip(plan.graph.outputs, run_exe(exe, plan.graph, xs), strict=True):
                assert got.tobytes() == want[name].tobytes(), f"{plan.graph.name}: {name} built with {cc}"


def test_overlapping_one_pixel_too_far_is_seen(merged, monkeypatch, tmp_path) -> None:
    """A lead one pixel short lets a conv write over a window it still reads: the C gives other bytes."""
    lead = window.lead

    def short(step, a, b):  # noqa: ANN001, ANN202
        d = lead(step, a, b)
        return None if d is None else d - 2 * step.params["out_c"] - 2 * memory.ALIGN

    monkeypatch.setattr(window, "IN_FLIGHT", 1)
    monkeypatch.setattr("tinyc.memory.views.lead", short)
    plan, xs = merged
    broken = plan_memory(lower(plan.graph))
    assert layout(broken).ties
    gen = generate_into(broken, tmp_path, "broken")
    exe = build(gen, "gcc", HOST["gcc"], "gcc")
    want = run_plan(broken, xs)
    got = run_exe(exe, broken.graph, xs)
    assert any(g.tobytes() != want[n].tobytes() for g, n in zip(got, broken.graph.outputs, strict=True))


@pytest.mark.parametrize("board_id", BOARDS)
def test_emulated_cores_equal_reference(board_id: str, synthetic, merged) -> None:
    board = load_board(board_id)
    tools = [f"{board.toolchain}-gcc", board.qemu.system]
    if missing := [t for t in tools if shutil.which(t) is None]:
        pytest.skip(f"{', '.join(missing)} not installed")
    for plan, xs in [(synthetic[0][1], synthetic[0][2]), merged]:
        xs = [x[:BOARD_INPUTS] for x in xs]
        want, _ = run_model(plan, xs, "ref")
        got, _ = run_model(plan, xs, board_id)
        for name, a, b in zip(plan.graph.outputs, got, want, strict=True):
            assert a.tobytes() == b.tobytes(), f"{plan.graph.name}: {name} on {board_id}"
