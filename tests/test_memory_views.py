"""Views in the memory plan (tinyc/memory/views.py): slices, splits and unpacks along the outermost non-unit axis
read their input at an offset, a concatenation's parts are written by their producers straight into its buffer
(the caller's output buffer when it is a graph output), and those copy steps emit no code for them.

Each int8 model is written with tinyc's exporter: the reference runtime equals TFLM byte for byte on N inputs;
the plan's skipped blocks move nothing (source and destination are the same bytes); the arena is no larger than
the plan without views; and the C of all models, merged into one library, equals the reference under
ASan/UBSan and at -O2."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from tests.helpers import tflm_run
from tests.single_op import merge, random_input
from tests.test_codegen import HOST, SANITIZE, build, generate_into, run_exe
from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import lower
from tinyc.lower.plan import Buffer, Plan, Step
from tinyc.memory import plan_memory
from tinyc.memory.views import residual
from tinyc.ops._movement import Block
from tinyc.runtime import run_plan

N = 200  # random inputs per model


@dataclass
class Model:
    """An int8 graph under construction; `free` names the outputs of the copy steps that must emit no code,
    `partial` those that must still copy something (constant and graph-input parts, a pad's fill), with the
    sources (program names) and inputs left."""

    g: Graph
    rng: np.random.Generator
    free: list[str] = field(default_factory=list)
    partial: dict[str, tuple[set[str], list[str]]] = field(default_factory=dict)
    copies: list[str] = field(default_factory=list)  # copy steps that must stay whole (layout does not allow)

    def act(self, name: str, shape: tuple[int, ...], q: tuple[float, int] = (0.05, -3)) -> str:
        self.g.add_tensor(Tensor(name, shape, "int8", Quant(np.float32([q[0]]), np.int32([q[1]]))))
        return name

    def like(self, name: str, src: str, shape: tuple[int, ...]) -> str:
        t = self.g.tensor(src)
        self.g.add_tensor(Tensor(name, shape, "int8", t.quant))
        return name

    def op(self, op: str, ins: list[str], outs: list[str], **attrs) -> None:  # noqa: ANN003
        self.g.nodes.append(Node(op, f"{op}_{len(self.g.nodes)}", ins, outs, attrs))

    def conv(self, name: str, x: str, cout: int, k: int = 1, q: tuple[float, int] = (0.05, -3),
             activation: str = "none") -> str:
        n, h, w, cin = self.g.tensor(x).shape
        wname, bname = f"{name}_w", f"{name}_b"
        scales = np.linspace(0.004, 0.012, cout).astype(np.float32)
        self.g.add_tensor(Tensor(wname, (cout, k, k, cin), "int8", Quant(scales, np.zeros(cout, np.int32), 0),
                                 self.rng.integers(-127, 128, (cout, k, k, cin)).astype(np.int8)))
        self.g.add_tensor(Tensor(bname, (cout,), "int32", None, self.rng.integers(-300, 300, cout).astype(np.int32)))
        p = k // 2
        self.op("conv2d", [x, wname, bname], [self.act(name, (n, h, w, cout), q)], stride=(1, 1), dilation=(1, 1),
                pads=(p, p, p, p), activation=activation)
        return name

    def fc(self, name: str, x: str, units: int) -> str:
        cin = self.g.tensor(x).shape[-1]
        wname, bname = f"{name}_w", f"{name}_b"
        self.g.add_tensor(Tensor(wname, (units, cin), "int8", Quant(np.float32([0.01]), np.int32([0])),
                                 self.rng.integers(-127, 128, (units, cin)).astype(np.int8)))
        self.g.add_tensor(Tensor(bname, (units,), "int32", None, self.rng.integers(-300, 300, units).astype(np.int32)))
        self.op("fully_connected", [x, wname, bname], [self.act(name, (1, units), (0.1, 2))], activation="none")
        return name

    def pool(self, name: str, x: str, k: int, kind: str = "max_pool2d") -> str:
        n, h, w, c = self.g.tensor(x).shape
        self.op(kind, [x], [self.like(name, x, (n, h // k, w // k, c))], kernel=(k, k), stride=(k, k),
                pads=(0, 0, 0, 0), activation="none")
        return name


def new(name: str, seed: int) -> Model:
    return Model(Graph(name, source=name), np.random.default_rng(seed))


def heads() -> Model:
    """Detection-head style: conv outputs reshaped to (1, anchors, k) and concatenated along the anchors, two
    graph outputs: each conv writes into the caller's output buffer at its offset."""
    m = new("heads", 1)
    x = m.act("x", (1, 8, 8, 3), (0.04, 1))
    m.g.inputs = [x]
    c0 = m.conv("c0", x, 8, 3, activation="relu")
    p0 = m.pool("p0", c0, 2)
    outs = []
    for k, units in (("box", 4), ("cls", 2)):
        parts = []
        for src, hw in ((c0, 64), (p0, 16)):
            c = m.conv(f"{k}_{src}", src, units, q=(0.08, 5))
            parts.append(m.like(f"{k}_{src}_flat", c, (1, hw, units)))
            m.op("reshape", [c], [parts[-1]])
        outs.append(m.like(k, parts[0], (1, 80, units)))
        m.op("concatenation", parts, [outs[-1]], axis=1)
    m.g.outputs = outs
    m.free = outs
    return m


def inception_rows() -> Model:
    """Branches concatenated along the rows (the outermost non-unit axis) with the graph input and a constant
    between them: the branches are written in place, the input and the constant are copied."""
    m = new("inception_rows", 2)
    x = m.act("x", (1, 6, 8, 4))
    m.g.inputs = [x]
    a = m.conv("a", x, 4, 1)
    b = m.conv("b", x, 4, 3, activation="relu")
    k = "pad_rows"
    m.g.add_tensor(Tensor(k, (1, 2, 8, 4), "int8", m.g.tensor(x).quant,
                          m.rng.integers(-128, 128, (1, 2, 8, 4)).astype(np.int8)))
    cat = m.like("cat", x, (1, 20, 8, 4))
    m.op("concatenation", [a, x, k, b], [cat], axis=1)
    c = m.conv("c", cat, 4, 3)
    m.g.outputs = [m.pool("y", c, 2, "avg_pool2d")]
    m.partial = {cat: ({"in0", "k0"}, [x])}
    return m


def fire_1x1() -> Model:
    """A fire module after global pooling (1x1 pixels, so channels are the outermost non-unit axis), its expand
    concatenation nested in another with a constant: all three convs write into the outer buffer; the pooling
    writes into the interior of a channel pad."""
    m = new("fire_1x1", 3)
    x = m.act("x", (1, 4, 4, 8))
    m.g.inputs = [x]
    gap = m.pool("gap", x, 4, "avg_pool2d")
    padded = m.like("padded", gap, (1, 1, 1, 12))
    m.op("pad", [gap], [padded], pads=((0, 0), (0, 0), (0, 0), (2, 2)))
    sq = m.conv("squeeze", padded, 4, activation="relu")
    e1 = m.conv("e1", sq, 8, q=(0.05, -3))
    e3 = m.conv("e3", sq, 8, 3, q=(0.05, -3))
    e4 = m.conv("e4", gap, 4, q=(0.05, -3))
    inner = m.like("inner", e1, (1, 1, 1, 16))
    m.op("concatenation", [e1, e3], [inner], axis=3)
    k = "bias_channels"
    m.g.add_tensor(Tensor(k, (1, 1, 1, 4), "int8", m.g.tensor(e1).quant, np.int8([[[[-128, 0, 5, 127]]]])))
    outer = m.like("outer", e1, (1, 1, 1, 24))
    m.op("concatenation", [inner, e4, k], [outer], axis=-1)
    flat = m.like("flat", outer, (1, 24))
    m.op("reshape", [outer], [flat])
    m.g.outputs = [m.fc("y", flat, 5)]
    m.free = [inner]
    m.partial = {outer: ({"k0"}, []), padded: ({""}, [])}
    return m


def split_branches() -> Model:
    """SPLIT along the rows into two branches (views, no code) and SPLIT_V along the channels of 8x8 pixels
    (not contiguous: still a copy)."""
    m = new("split_branches", 4)
    x = m.act("x", (1, 8, 8, 3), (0.04, 1))
    m.g.inputs = [x]
    c = m.conv("c", x, 8, 3)
    s0, s1 = m.like("top", c, (1, 4, 8, 8)), m.like("bottom", c, (1, 4, 8, 8))
    m.op("split", [c], [s0, s1], axis=1)
    b0, b1 = m.conv("b0", s0, 4, q=(0.07, 0)), m.conv("b1", s1, 4, 3, q=(0.06, 2))
    y0 = m.act("y0", (1, 4, 8, 4), (0.1, -1))
    m.op("add", [b0, b1], [y0], activation="relu")
    t0, t1 = m.like("ch0", c, (1, 8, 8, 2)), m.like("ch1", c, (1, 8, 8, 6))
    m.op("split_v", [c], [t0, t1], axis=3, size_splits=(2, 6))
    m.g.outputs = [y0, m.pool("y1", t0, 2), m.pool("y2", t1, 4)]
    m.free = [s0]
    m.copies = [t0]
    return m


def slice_chain() -> Model:
    """A slice of an activation, reshaped, strided-sliced and unpacked (views of views of views), a slice of the
    graph input (read at an offset in the caller's buffer) and a slice that is a graph output (copied there)."""
    m = new("slice_chain", 5)
    x = m.act("x", (1, 10, 6, 4))
    m.g.inputs = [x]
    c = m.conv("c", x, 4)
    v1 = m.like("v1", c, (1, 6, 6, 4))
    m.op("slice", [c], [v1], begin=(0, 2, 0, 0), size=(1, 6, 6, 4))
    r = m.like("rows", v1, (1, 6, 24))
    m.op("reshape", [v1], [r])
    v2 = m.like("v2", r, (1, 4, 24))
    m.op("strided_slice", [r], [v2], begin=(0, 1, 0), end=(1, 5, 24), strides=(1, 1, 1), begin_mask=0, end_mask=0,
         shrink_axis_mask=0)
    us = [m.like(f"u{k}", v2, (1, 24)) for k in range(4)]
    m.op("unpack", [v2], us, axis=1)
    f0, f3 = m.fc("f0", us[0], 6), m.fc("f3", us[3], 6)
    y0 = m.act("y0", (1, 6), (0.15, 0))
    m.op("add", [f0, f3], [y0], activation="none")
    xs = m.like("x_rows", x, (1, 5, 6, 4))
    m.op("slice", [x], [xs], begin=(0, 3, 0, 0), size=(1, 5, 6, 4))
    y1 = m.conv("y1", xs, 2, 3)
    y2 = m.like("y2", c, (1, 2, 6, 4))
    m.op("slice", [c], [y2], begin=(0, 8, 0, 0), size=(1, 2, 6, 4))
    m.g.outputs = [y0, y1, y2]
    m.free = [v1, v2, *us, xs]
    m.copies = [y2]
    return m


def shuffle_rows() -> Model:
    """SPLIT then CONCATENATION of the pieces swapped: the split writes its pieces straight into the
    concatenation (one copy instead of two), and a slice of a piece is a view into the concatenation."""
    m = new("shuffle_rows", 6)
    x = m.act("x", (1, 8, 4, 4))
    m.g.inputs = [x]
    c = m.conv("c", x, 4, activation="relu")
    s0, s1 = m.like("s0", c, (1, 4, 4, 4)), m.like("s1", c, (1, 4, 4, 4))
    m.op("split", [c], [s0, s1], axis=1)
    cat = m.like("swapped", c, (1, 8, 4, 4))
    m.op("concatenation", [s1, s0], [cat], axis=1)
    v = m.like("v", s0, (1, 2, 4, 4))
    m.op("strided_slice", [s0], [v], begin=(0, 1, 0, 0), end=(1, 3, 4, 4), strides=(1, 1, 1, 1), begin_mask=0,
         end_mask=0, shrink_axis_mask=0)
    m.g.outputs = [m.conv("y0", cat, 4, 3), m.conv("y1", v, 2, 3)]
    m.free = [cat, v]
    m.partial = {s0: ({"in0"}, [c])}
    return m


MODELS = [heads, inception_rows, fire_1x1, split_branches, slice_chain, shuffle_rows]


@dataclass
class Built:
    model: Model
    plan: Plan
    inputs: list[np.ndarray]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> list[Built]:
    """Each model through TFLite and back, its reference outputs equal to TFLM's on N inputs."""
    folder = tmp_path_factory.mktemp("views")
    out = []
    for k, make in enumerate(MODELS):
        m = make()
        m.g.verify()
        path = folder / f"{m.g.name}.tflite"
        write_tflite(m.g, path)
        graph = load_model(path)
        rng = np.random.default_rng(100 + k)
        xs = [random_input(graph.tensor(n), N, rng) for n in graph.inputs]
        plan = plan_memory(lower(graph))
        got = run_plan(plan, xs)
        for name, want in zip(graph.outputs, tflm_run(path, xs, len(graph.outputs)), strict=True):
            assert got[name].tobytes() == want.tobytes(), f"{m.g.name}: '{name}' differs from TFLM"
        out.append(Built(m, plan, xs))
    return out


def _address(plan: Plan, name: str, elements: int) -> tuple[str, int, int]:
    buf = plan.buffers[name]
    return buf.region, buf.index, buf.offset + elements * plan.graph.tensor(name).np_dtype.itemsize


def test_skipped_blocks_move_nothing(built) -> None:
    """Every elided block's source and destination are the same bytes; the named steps emit no code or copy
    only what they must."""
    for b in built:
        plan, by_output = b.plan, {}
        for step in plan.steps:
            by_output.update(dict.fromkeys(step.outputs, step))
            for k in step.elided:
                blk = Block(*step.params["blocks"][k])
                src = step.inputs[int(blk.src[2:])]
                assert _address(plan, src, blk.src_offset) == _address(plan, step.outputs[blk.out], blk.out_offset)
        for name in b.model.free:
            assert residual(by_output[name]) is None, f"{b.model.g.name}: '{name}' still copies"
        for name, (sources, inputs) in b.model.partial.items():
            left = residual(by_output[name])
            assert left is not None and {blk[1] for blk in left.params["blocks"]} == sources, name
            assert left.inputs == inputs, name
        for name in b.model.copies:
            assert not by_output[name].elided, f"{b.model.g.name}: '{name}' is not a contiguous run"


def test_arena_no_larger_than_copies(built) -> None:
    sizes = {}
    for b in built:
        copies = plan_memory(lower(b.plan.graph), views=False)
        assert not any(s.elided for s in copies.steps)
        assert b.plan.lower_bound <= b.plan.arena_size <= copies.arena_size, b.model.g.name
        sizes[b.model.g.name] = (copies.arena_size, b.plan.arena_size)
    assert any(new < old for old, new in sizes.values()), sizes


def test_views_of_caller_buffers(built) -> None:
    heads_plan, chain = built[0].plan, built[4].plan
    assert heads_plan.buffers["box_p0_flat"] == Buffer("output", 64 * 4, 0)
    assert heads_plan.buffers["cls_p0"] == Buffer("output", 64 * 2, 1)
    assert chain.buffers["x_rows"] == Buffer("input", 3 * 6 * 4, 0)


def test_generated_c_equals_reference(built, tmp_path) -> None:
    graph = merge([b.plan.graph for b in built], "views")
    plan = plan_memory(lower(graph))
    assert sum(residual(s) is None for s in plan.steps) >= 7
    xs = [x for b in built for x in b.inputs]
    want = run_plan(plan, xs)
    gen = generate_into(plan, tmp_path, "views")
    for name, buf in zip([s.outputs[0] for s in plan.steps], gen.report["layers"], strict=True):
        if plan.buffers[name].region == "arena":
            assert buf["arena_offset"] == plan.buffers[name].offset
    for cc, flags in (("gcc", SANITIZE), ("clang", HOST["clang"])):
        exe = build(gen, cc, flags, cc)
        for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True):
            assert got.tobytes() == want[name].tobytes(), f"{name} built with {cc}"


def test_inplace_waits_for_the_views() -> None:
    """An element-wise step may not write over its input while a view of that input is still to be read."""
    g = Graph("inplace")
    for name, shape in (("x", (4, 2)), ("a", (4, 2)), ("v", (2, 2)), ("b", (4, 2)), ("y", (2, 2)), ("z", (4, 2))):
        g.add_tensor(Tensor(name, shape, "int8"))
    g.inputs, g.outputs = ["x"], ["y", "z"]
    view = {"blocks": (Block(0, "in0", 0, 4, (4,), (1,), (1,)).as_tuple(),), "out_shapes": ((2, 2),),
            "dtype": "int8", "fill": 0, "moved": 4}
    steps = [Step("relu", "n0", ["x"], ["a"]), Step("copy", "n1", ["a"], ["v"], view),
             Step("relu", "n2", ["a"], ["b"], overwrite=(0,)), Step("add", "n3", ["v", "v"], ["y"]),
             Step("relu", "n4", ["b"], ["z"], overwrite=(0,))]
    plan = plan_memory(Plan(g, steps))
    assert plan.buffers["v"] == Buffer("arena", plan.buffers["a"].offset + 4)
    assert plan.buffers["a"].region == "arena"
    assert plan.buffers["b"] == plan.buffers["z"] == Buffer("output", 0, 1)  # z over b, b not over a
    steps[2], steps[3] = steps[3], steps[2]  # the view read first: b may take a's (and v's) bytes
    plan = plan_memory(Plan(g, steps))
    assert plan.buffers["b"] == plan.buffers["a"] and plan.buffers["v"].offset == plan.buffers["a"].offset + 4
