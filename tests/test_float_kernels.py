"""The reference runtime's float32 conv2d, depthwise conv2d and fully connected equal the generated C bit for bit.

Both sum in float32, from 0.0f, in the C's loop order (conv2d: ky, kx, ic, taps outside the input skipped;
depthwise: ky, kx; fully connected: k), then add the bias, then clamp, with no fused multiply-add.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_codegen import HOST, SANITIZE, build, generate_into, run_exe
from tinyc.ir import Graph, Node, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan


def float_graph() -> Graph:
    """conv2d (strided, dilated, padded, relu6) -> depthwise (multiplier 2, padded) -> fully connected x2."""
    rng = np.random.default_rng(5)
    g = Graph("fkern")

    def act(name: str, shape: tuple) -> str:
        g.add_tensor(Tensor(name, shape, "float32"))
        return name

    def const(name: str, shape: tuple) -> str:
        data = rng.standard_normal(shape).astype(np.float32)
        g.add_tensor(Tensor(name, shape, "float32", None, data))
        return name

    def node(op: str, name: str, ins: list[str], out: str, **attrs) -> None:
        g.nodes.append(Node(op, name, ins, [out], attrs))

    x = act("x", (1, 11, 9, 6))
    g.inputs = [x]
    c1 = act("c1", (1, 6, 8, 8))
    node("conv2d", "conv", [x, const("conv_w", (8, 3, 3, 6)), const("conv_b", (8,))], c1, stride=(2, 1),
         dilation=(1, 2), pads=(1, 1, 1, 2), activation="relu6")
    d1 = act("d1", (1, 6, 8, 16))
    node("depthwise_conv2d", "dw", [c1, const("dw_w", (1, 3, 3, 16)), const("dw_b", (16,))], d1,
         stride=(1, 1), dilation=(1, 1), pads=(1, 1, 1, 1), depth_multiplier=2, activation="none")
    d2 = act("d2", (1, 3, 4, 16))
    node("depthwise_conv2d", "dw2", [d1, const("dw2_w", (1, 5, 5, 16))], d2, stride=(2, 2), dilation=(1, 1),
         pads=(2, 2, 2, 2), depth_multiplier=1, activation="relu")
    f1 = act("f1", (1, 192))
    node("reshape", "flatten", [d2], f1)
    y1 = act("y1", (1, 24))
    node("fully_connected", "fc", [f1, const("fc_w", (24, 192)), const("fc_b", (24,))], y1, activation="none")
    y2 = act("y2", (1, 5))
    node("fully_connected", "fc2", [y1, const("fc2_w", (5, 24))], y2, activation="relu")
    g.outputs = [c1, d1, d2, y1, y2]  # every kernel's output, compared bit for bit
    return g


@pytest.mark.parametrize("cc, flags", [("gcc", HOST["gcc"]), ("clang", HOST["clang"]), ("gcc", SANITIZE)])
def test_float_kernels_equal_generated_c(cc: str, flags: list[str], tmp_path) -> None:
    plan = plan_memory(lower(float_graph()))
    kernels = {step.kernel for step in plan.steps}
    assert {"conv2d_f32", "depthwise_conv2d_f32", "fully_connected_f32"} <= kernels
    gen = generate_into(plan, tmp_path, "fkern")
    x = (np.random.default_rng(9).standard_normal((200, 1, 11, 9, 6)) * 3).astype(np.float32)
    ref = run_plan(plan, [x])
    ours = run_exe(build(gen, cc, flags, f"{cc}{len(flags)}"), plan.graph, [x])
    for name, got in zip(plan.graph.outputs, ours, strict=True):
        want = np.ascontiguousarray(ref[name], np.float32)
        assert got.shape == want.shape, name
        bad = np.flatnonzero(np.any(got.view(np.uint32) != want.view(np.uint32), axis=tuple(range(1, got.ndim))))
        assert bad.size == 0, f"{cc}: '{name}' differs from the reference on records {bad[:10]}"


EXTREMES = np.array([3e38, -3e38, 3.4028235e38, -3.4028235e38, 1e-45, -1e-45, 1.1754942e-38, 0.0, -0.0, 1e20,
                     -1e20, 1.0, -1.0], np.float32)


def extreme_inputs(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Normal values, a mix of the extremes (largest finite, subnormals, signed zeros), huge and subnormal
    scalings of normal values, sparse extremes among zeros, and each extreme alone: 539 records, all finite."""
    rng = np.random.default_rng(seed)
    parts = [rng.standard_normal((100, *shape)), rng.choice(EXTREMES, (300, *shape)),
             rng.standard_normal((50, *shape)) * 1e37, rng.standard_normal((50, *shape)) * 1e-40,
             rng.choice(EXTREMES, (len(EXTREMES) * 2, *shape)) * (rng.random((len(EXTREMES) * 2, *shape)) < 0.1)]
    parts += [np.full((1, *shape), v) for v in EXTREMES]
    x = np.concatenate([p.astype(np.float32) for p in parts])
    assert np.isfinite(x).all()
    return x


def every_kernel_graph(seed: int) -> Graph:
    """tests.graphs.every_op_graph (conv, relu6, average and max pooling, depthwise, add, transpose, fully
    connected, softmax) with every node's output compared."""
    from tests.graphs import every_op_graph

    g = every_op_graph(seed)
    g.outputs = [n.outputs[0] for n in g.nodes]
    return g


@pytest.mark.parametrize("seed, cc, flags", [(0, "gcc", HOST["gcc"]), (1, "clang", HOST["clang"]), (2, "gcc", SANITIZE),
                                             (-1, "gcc", HOST["gcc"])])
def test_extreme_float_inputs_give_the_same_bytes(seed: int, cc: str, flags: list[str], tmp_path) -> None:
    """+-3e38, subnormals, +-0: overflow to inf, inf - inf = NaN, max over NaN, softmax of inf rows all come out
    of the reference runtime with the C's bits."""
    graph = float_graph() if seed < 0 else every_kernel_graph(seed)  # seed -1: the conv/depthwise/FC graph
    plan = plan_memory(lower(graph))
    gen = generate_into(plan, tmp_path, "ext")
    x = extreme_inputs(graph.tensor(graph.inputs[0]).shape, seed=seed + 10)
    ref = run_plan(plan, [x])
    ours = run_exe(build(gen, cc, flags, "x"), plan.graph, [x])
    special = 0
    for name, got in zip(plan.graph.outputs, ours, strict=True):
        want = np.ascontiguousarray(ref[name], np.float32)
        bad = np.flatnonzero(np.any(got.view(np.uint32) != want.view(np.uint32), axis=tuple(range(1, got.ndim))))
        assert bad.size == 0, f"{cc}: '{name}' differs from the reference on records {bad[:10]}"
        special += int(np.count_nonzero(~np.isfinite(want)))
    assert special > 0  # the extremes did reach inf and NaN inside the model
