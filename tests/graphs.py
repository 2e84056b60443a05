"""Small IR graphs built in code, and a strict graph comparison (quantization and export tests)."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node, Tensor


def assert_same_graph(a: Graph, b: Graph, node_names: bool = True) -> None:
    """Same inputs, outputs, tensors (in order: shape, dtype, quantization, data) and nodes."""
    assert a.inputs == b.inputs and a.outputs == b.outputs
    assert list(a.tensors) == list(b.tensors)
    for name, ta in a.tensors.items():
        tb = b.tensors[name]
        assert (ta.shape, ta.dtype) == (tb.shape, tb.dtype), name
        assert (ta.quant is None) == (tb.quant is None), name
        if ta.quant is not None:
            assert ta.quant.scale.tobytes() == tb.quant.scale.tobytes(), name
            assert ta.quant.zero_point.tobytes() == tb.quant.zero_point.tobytes(), name
            assert ta.quant.axis == tb.quant.axis, name
        assert ta.is_const == tb.is_const, name
        if ta.is_const:
            assert ta.data.dtype == tb.data.dtype and ta.data.tobytes() == tb.data.tobytes(), name
    assert len(a.nodes) == len(b.nodes)
    for na, nb in zip(a.nodes, b.nodes, strict=True):
        assert (na.op, na.inputs, na.outputs) == (nb.op, nb.inputs, nb.outputs), na.name
        attrs_a = {k: _plain(v) for k, v in na.attrs.items()}
        assert attrs_a == {k: _plain(v) for k, v in nb.attrs.items()}, na.name
        if node_names:
            assert na.name == nb.name


def _plain(v):  # noqa: ANN001, ANN202
    return tuple(int(x) for x in v) if isinstance(v, (tuple, list)) else v


def every_op_graph(seed: int = 0, last_relu: str = "relu") -> Graph:
    """A float graph using every op the TFLite writer maps, with SAME and VALID padding, a depth
    multiplier, an activation-activation add, stand-alone ReLUs, a transpose and a reshape.
    (TFLM has no RELU_N1_TO_1 kernel: pass last_relu="relu_n1_to_1" for TFLite-only checks.)"""
    rng = np.random.default_rng(seed)
    g = Graph("every_op")

    def t(name: str, shape: tuple[int, ...], data: np.ndarray | None = None) -> str:
        g.add_tensor(Tensor(name, shape, "float32", data=data))
        return name

    def const(name: str, shape: tuple[int, ...], scale: float = 0.5) -> str:
        return t(name, shape, rng.normal(0, scale, shape).astype(np.float32))

    def node(op: str, name: str, inputs: list[str], out: str, **attrs) -> None:  # noqa: ANN003
        g.nodes.append(Node(op, name, inputs, [out], attrs))

    g.inputs = [t("x", (1, 8, 8, 3))]
    node("conv2d", "conv_2d_0", ["x", const("w0", (4, 3, 3, 3)), const("b0", (4,), 0.1)],
         t("c0", (1, 8, 8, 4)), stride=(1, 1), dilation=(1, 1), pads=(1, 1, 1, 1), activation="none")
    node("relu", "relu6_1", ["c0"], t("r1", (1, 8, 8, 4)), activation="relu6")
    node("avg_pool2d", "average_pool_2d_2", ["r1"], t("p2", (1, 8, 8, 4)), kernel=(3, 3), stride=(1, 1),
         pads=(1, 1, 1, 1), activation="none")
    node("depthwise_conv2d", "depthwise_conv_2d_3", ["p2", const("w3", (1, 3, 3, 8)), const("b3", (8,), 0.1)],
         t("d3", (1, 4, 4, 8)), stride=(2, 2), dilation=(1, 1), pads=(0, 0, 1, 1), activation="relu",
         depth_multiplier=2)
    node("max_pool2d", "max_pool_2d_4", ["d3"], t("m4", (1, 2, 2, 8)), kernel=(2, 2), stride=(2, 2),
         pads=(0, 0, 0, 0), activation="none")
    node("conv2d", "conv_2d_5", ["m4", const("w5", (8, 1, 1, 8)), const("b5", (8,), 0.1)],
         t("c5", (1, 2, 2, 8)), stride=(1, 1), dilation=(1, 1), pads=(0, 0, 0, 0), activation="none")
    node("add", "add_6", ["m4", "c5"], t("a6", (1, 2, 2, 8)), activation="relu")
    node("relu", f"{last_relu}_7", ["a6"], t("r7", (1, 2, 2, 8)), activation=last_relu)
    node("transpose", "transpose_8", ["r7"], t("t8", (1, 8, 2, 2)), perm=(0, 3, 1, 2))
    node("reshape", "reshape_9", ["t8"], t("s9", (1, 32)))
    node("fully_connected", "fully_connected_10", ["s9", const("w10", (5, 32)), const("b10", (5,), 0.1)],
         t("f10", (1, 5)), activation="none")
    node("softmax", "softmax_11", ["f10"], t("y", (1, 5)), beta=1.0)
    g.outputs = ["y"]
    g.verify()
    return g
