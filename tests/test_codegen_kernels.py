"""The generated kernels' target-specific paths give the reference runtime's bytes: Helium (MVE) on the
Cortex-M55, the DSP extension (SMLAD) on the Cortex-M4F, plain C on RISC-V rv32imc, each run under QEMU;
and the same SIMD code paths on the host through the C emulations of their instructions (under ASan/UBSan).

The synthetic graphs exercise the vector tails: channel counts that are not multiples of 4 or 16, strides,
padding, dilation, depth multiplier 2, tall and large depthwise kernels, a left-shifting requantization,
fully connected layers with odd depths, units and several rows, additions of odd lengths.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import MLPERF_INT8
from tests.test_codegen import HOST, WARN, build, generate_into, run_exe
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import Plan, lower
from tinyc.memory import plan_memory
from tinyc.pipeline import build_plan, run_on_target
from tinyc.runtime import run_plan

BOARDS = ["corstone-300", "nucleo-l4r5zi", "esp32-c3"]  # Helium, DSP, plain C
N_BOARD = 24  # random inputs per model and board
EMULATIONS = {"mve": "-DTINYC_EMULATE_MVE", "simd32": "-DTINYC_EMULATE_SIMD32"}
SANITIZE = WARN + ["-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]  # no -g: 15x faster


def random_batch(plan: Plan, n: int, seed: int) -> np.ndarray:
    """n int8 inputs: all zeros, all -128, all 127, then uniform random."""
    t = plan.graph.tensor(plan.graph.inputs[0])
    x = np.random.default_rng(seed).integers(-128, 128, size=(n, *t.shape), dtype=np.int8)
    x[0], x[1], x[2] = 0, -128, 127
    return x


def assert_equal_bytes(got: np.ndarray, want: np.ndarray, what: str) -> None:
    got, want = got.reshape(len(got), -1), want.reshape(len(want), -1)
    bad = np.flatnonzero(np.any(got != want, axis=1))
    assert bad.size == 0, f"{what}: differs from the reference on inputs {bad[:10]}"


# ---------------------------------------------------------------- synthetic graphs


def q(scale: float | list[float] | np.ndarray, zp: int = 0, axis: int | None = None) -> Quant:
    scale = np.atleast_1d(np.asarray(scale, np.float32))
    return Quant(scale, np.full(scale.shape, zp, np.int32), axis)


class Builder:
    def __init__(self, name: str, seed: int) -> None:
        self.g = Graph(name, source=f"{name} (synthetic)")
        self.rng = np.random.default_rng(seed)

    def act(self, name: str, shape: tuple, scale: float, zp: int) -> str:
        self.g.add_tensor(Tensor(name, shape, "int8", q(scale, zp)))
        return name

    def const(self, name: str, data: np.ndarray, dtype: str, quant: Quant | None = None) -> str:
        self.g.add_tensor(Tensor(name, data.shape, dtype, quant, data))
        return name

    def weights(self, name: str, shape: tuple, axis: int, scales: np.ndarray, sparse: float = 1.0) -> str:
        w = self.rng.integers(-127, 128, shape)
        if sparse < 1.0:
            w = np.where(self.rng.random(shape) < sparse, np.sign(w), 0)
        return self.const(name, w.astype(np.int8), "int8", q(scales, 0, axis))

    def bias(self, name: str, n: int, size: int = 2000) -> str:
        return self.const(name, self.rng.integers(-size, size, n).astype(np.int32), "int32")

    def node(self, op: str, name: str, ins: list[str], out: str, **attrs) -> None:
        self.g.nodes.append(Node(op, name, ins, [out], attrs))


def convs_graph() -> Graph:
    """conv 3x3/2 padded (7 channels, relu6) + conv 1x1/2 in place, added (210 values); depthwise 3x3 x2
    padded, 9x1 (tall: a rolled row loop), 5x7 (35 taps: not unrolled), 3x3/2 unpadded (in place); a 1x1
    conv with per-channel multipliers on both sides of 1 (left shifts); flatten; fc 36 -> 13 (odd depth
    and units); add of a constant."""
    b = Builder("convs", 11)
    x = b.act("x", (1, 11, 9, 5), 0.05, 3)
    b.g.inputs = [x]

    def conv(name: str, src: str, w: tuple, scales: np.ndarray, out: str, stride: int, pads: tuple,
             act: str, sparse: float = 1.0, bias: int = 2000) -> None:
        ins = [src, b.weights(f"{name}_w", w, 0, scales, sparse), b.bias(f"{name}_b", w[0], bias)]
        b.node("conv2d", name, ins, out, stride=(stride, stride), dilation=(1, 1), pads=pads, activation=act)

    def depthwise(name: str, src: str, kernel: tuple, scales: np.ndarray, out: str, stride: int, pads: tuple,
                  multiplier: int = 1, act: str = "none") -> None:
        n = len(scales)
        ins = [src, b.weights(f"{name}_w", (1, *kernel, n), 3, scales), b.bias(f"{name}_b", n)]
        b.node("depthwise_conv2d", name, ins, out, stride=(stride, stride), dilation=(1, 1), pads=pads,
               depth_multiplier=multiplier, activation=act)

    c1 = b.act("c1", (1, 6, 5, 7), 0.06, -20)
    conv("c3s2", x, (7, 3, 3, 5), np.linspace(0.002, 0.004, 7), c1, 2, (1, 1, 1, 1), "relu6")
    c2 = b.act("c2", (1, 6, 5, 7), 0.07, 5)
    conv("c1s2", x, (7, 1, 1, 5), np.linspace(0.01, 0.02, 7), c2, 2, (0, 0, 0, 0), "none")
    a = b.act("a", (1, 6, 5, 7), 0.08, -7)
    b.node("add", "add", [c1, c2], a, activation="relu")
    d = b.act("d", (1, 6, 5, 14), 0.1, 2)
    depthwise("dw_x2", a, (3, 3), np.linspace(0.003, 0.006, 14), d, 1, (1, 1, 1, 1), multiplier=2)
    t = b.act("t", (1, 6, 5, 14), 0.1, -3)
    depthwise("dw_tall", d, (9, 1), np.full(14, 0.004), t, 1, (4, 0, 4, 0))
    big = b.act("big", (1, 6, 5, 14), 0.12, 0)
    depthwise("dw_big", t, (5, 7), np.full(14, 0.002), big, 1, (2, 3, 2, 3), act="relu")
    pw = b.act("pw", (1, 6, 5, 9), 0.004, 1)
    conv("pw_left", big, (9, 1, 1, 14), np.geomspace(0.01, 0.2, 9), pw, 1, (0, 0, 0, 0), "none", 0.15, 20)
    ds = b.act("ds", (1, 2, 2, 9), 0.1, 4)
    depthwise("dw_s2", pw, (3, 3), np.full(9, 0.01), ds, 2, (0, 0, 0, 0))
    f = b.act("f", (1, 36), 0.1, 4)
    b.node("reshape", "flatten", [ds], f)
    y = b.act("y", (1, 13), 0.2, -2)
    fc_w = b.weights("fc_w", (13, 36), 0, np.full(13, 0.004))
    b.node("fully_connected", "fc", [f, fc_w, b.bias("fc_b", 13)], y, activation="none")
    out = b.act("out", (1, 13), 0.15, 6)
    k = b.const("k", b.rng.integers(-128, 128, (1, 13)).astype(np.int8), "int8", q(0.05, -9))
    b.node("add", "add_const", [y, k], out, activation="none")
    b.g.outputs = [out]
    return b.g


def fc_rows_graph() -> Graph:
    """fully connected over 3 rows of 37 (a vector tail of 5) into 6 units (one block of 4 and 2 alone), then
    3 rows of 6 into 17 units with a relu6."""
    b = Builder("fc_rows", 12)
    x = b.act("x", (1, 3, 37), 0.05, -1)
    b.g.inputs = [x]
    h = b.act("h", (1, 3, 6), 0.3, 3)
    b.node("fully_connected", "fc1", [x, b.weights("w1", (6, 37), 0, np.full(6, 0.01)), b.bias("b1", 6)], h,
           activation="none")
    y = b.act("y", (1, 3, 17), 0.05, -100)
    b.node("fully_connected", "fc2", [h, b.weights("w2", (17, 6), 0, np.full(17, 0.02)), b.bias("b2", 17)], y,
           activation="relu6")
    b.g.outputs = [y]
    return b.g


SYNTHETIC = {"convs": convs_graph, "fc_rows": fc_rows_graph}


@pytest.fixture(scope="module", params=sorted(SYNTHETIC))
def synthetic(request) -> tuple[Plan, np.ndarray, np.ndarray]:
    plan = plan_memory(lower(SYNTHETIC[request.param]()))
    x = random_batch(plan, 40, seed=7)
    return plan, x, run_plan(plan, [x])[plan.graph.outputs[0]]


def test_synthetic_graphs_shapes() -> None:
    """The graphs are what their docstrings say (guards against a change that skips the tails)."""
    plan = plan_memory(lower(convs_graph()))
    kinds = {s.node: s for s in plan.steps}
    assert kinds["pw_left"].consts["shift"].max() > 0 > kinds["pw_left"].consts["shift"].min()
    assert kinds["dw_x2"].params["depth_multiplier"] == 2
    assert kinds["fc"].params["depth"] % 16 and kinds["fc"].params["units"] % 4
    assert kinds["dw_big"].params["k_h"] * kinds["dw_big"].params["k_w"] > 25


@pytest.mark.parametrize("board", BOARDS)
def test_synthetic_on_board(synthetic, board: str) -> None:
    plan, x, ref = synthetic
    got, _ = run_on_target(plan, x, board)
    assert_equal_bytes(got, ref, f"{plan.graph.name} on {board}")


@pytest.mark.parametrize("path", sorted(EMULATIONS))
def test_synthetic_emulated_on_host(synthetic, path: str, tmp_path) -> None:
    """The Helium and DSP code paths on the host (their instructions as C), under ASan/UBSan."""
    plan, x, ref = synthetic
    gen = generate_into(plan, tmp_path, plan.graph.name)
    exe = build(gen, "gcc", SANITIZE + [EMULATIONS[path]], path)
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{plan.graph.name}, {path} path emulated")


# ---------------------------------------------------------------- the MLPerf Tiny int8 models


@pytest.fixture(scope="module", params=sorted(MLPERF_INT8))
def mlperf(request, models_dir) -> tuple[str, Plan, np.ndarray, np.ndarray]:
    plan = build_plan(models_dir / MLPERF_INT8[request.param])
    x = random_batch(plan, 200, seed=2025)
    return request.param, plan, x, run_plan(plan, [x])[plan.graph.outputs[0]]


@pytest.mark.parametrize("board", BOARDS)
def test_mlperf_on_board(mlperf, board: str) -> None:
    key, plan, x, ref = mlperf
    got, report = run_on_target(plan, x[:N_BOARD], board)
    assert_equal_bytes(got, ref[:N_BOARD], f"{key} on {board}")
    counts = report["instructions_per_inference"]
    assert len(counts) == N_BOARD and min(counts) > 0


@pytest.mark.parametrize("path", sorted(EMULATIONS))
def test_mlperf_emulated_on_host(mlperf, path: str, tmp_path) -> None:
    key, plan, x, ref = mlperf
    gen = generate_into(plan, tmp_path, key)
    exe = build(gen, "gcc", HOST["gcc"] + [EMULATIONS[path]], path)
    assert_equal_bytes(run_exe(exe, plan.graph, [x])[0], ref, f"{key}, {path} path emulated")
