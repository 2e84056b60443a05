"""One registry of ops. Each op module defines its shape rule, cost, lowering and reference kernels.

The stages (verifier, lowering, runtime, codegen) are generic drivers that ask the op.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyc.errors import GraphError, UnsupportedDtypeError, shown
from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step

# A reference kernel: (step, input arrays with a leading batch axis) -> output arrays.
Kernel = Callable[[Step, list[np.ndarray]], list[np.ndarray]]


# The activation dtypes most ops have kernels for: int8 in, int8 out; float32 in, float32 out.
INT8_OR_FLOAT = frozenset({("int8", "int8"), ("float32", "float32")})
ANY_SAME = None  # `dtypes` of ops that move bytes whatever their type: input and output dtypes agree


class OpDef:
    name: str = ""
    arity: tuple[int, int] = (1, 1)  # min and max number of inputs
    outputs: tuple[int, int] = (1, 1)  # min and max number of outputs
    tflite: tuple[str, ...] = ()  # the TFLite operators (builtin names, custom codes) this op implements
    kernels: dict[str, Kernel] = {}
    # (activation input dtype, output dtype) pairs the op has kernels for; every non-constant input is paired
    # with output 0. Graph.verify refuses any other pair, and any uint8 tensor the pairs do not name, so a dtype
    # without a kernel never reaches a kernel written for another.
    dtypes: frozenset[tuple[str, str]] | None = INT8_OR_FLOAT

    def check(self, node: Node, graph: Graph) -> None:
        """Op-specific verification beyond arity; raise GraphError naming the node."""

    def check_dtypes(self, node: Node, graph: Graph) -> None:
        """Raise UnsupportedDtypeError (naming the tensor, node and model file) for dtypes without a kernel."""
        out = graph.tensor(node.outputs[0])
        allowed = self.dtypes if self.dtypes is not None else frozenset({(out.dtype, out.dtype)})
        uint8_ok = any("uint8" in pair for pair in allowed)
        for name in [n for n in node.inputs if n] + list(node.outputs):
            t = graph.tensor(name)
            what = t.dtype
            if name in node.outputs:
                ok = t.dtype in {b for _, b in allowed}
            elif t.is_const:
                ok = t.dtype != "uint8" or uint8_ok
            else:
                ok, what = (t.dtype, out.dtype) in allowed, f"{t.dtype} -> {out.dtype}"
            if not ok:
                kinds = ", ".join(f"{a} -> {'/'.join(sorted(b for x, b in allowed if x == a))}"
                                  for a in sorted({a for a, _ in allowed}))
                raise UnsupportedDtypeError(what, name, node.op, node.name, graph.source or graph.name, kinds)

    def macs(self, node: Node, graph: Graph) -> int:
        return 0

    def lower(self, node: Node, graph: Graph) -> Step:
        raise NotImplementedError

    def verify_arity(self, node: Node) -> None:
        lo, hi = self.arity
        if not lo <= len(node.inputs) <= hi:
            raise GraphError(f"node '{node.name}' ({node.op}) has {len(node.inputs)} inputs, expects {lo}..{hi}")
        lo, hi = self.outputs
        if not lo <= len(node.outputs) <= hi:
            raise GraphError(f"node '{node.name}' ({node.op}) has {len(node.outputs)} outputs, expects "
                             f"{lo if lo == hi else f'{lo}..{hi}'}")


REGISTRY: dict[str, OpDef] = {}
KERNELS: dict[str, Kernel] = {}


def register(cls: type[OpDef]) -> type[OpDef]:
    op = cls()
    REGISTRY[op.name] = op
    KERNELS.update(op.kernels)
    return cls


def expect(cond: bool, node: Node, message: str) -> None:
    if not cond:
        raise GraphError(f"node '{shown(node.name)}' ({node.op}): {message}")


from tinyc.ops import (  # noqa: E402,F401  (registration side effects)
    abs,
    add,
    add_n,
    avg_pool2d,
    batch_matmul,
    batch_norm,
    broadcast_args,
    cast,
    comparison,
    concatenation,
    constant,
    conv2d,
    conv_transpose_nd,
    cumsum,
    depth_to_space,
    depthwise_conv2d,
    dequantize,
    detection_postprocess,
    div,
    dynamic_update_slice,
    elu,
    embedding_lookup,
    erf,
    exp,
    floor_div,
    fully_connected,
    gather,
    gather_nd,
    hard_swish,
    l2_normalization,
    l2_pool2d,
    leaky_relu,
    log,
    log_softmax,
    logical,
    logistic,
    max_pool2d,
    maximum,
    minimum,
    ml_linear,
    ml_normalizer,
    ml_scaler,
    ml_svm,
    ml_tree_ensemble,
    mul,
    neg,
    pad,
    pool_nd,
    power,
    prelu,
    quantize,
    reduce,
    relu,
    reshape,
    resize,
    resize_general,
    reverse,
    rounding,
    rsqrt,
    select_v2,
    signal,
    slice,
    softmax,
    space_batch,
    split,
    sqrt,
    square,
    squared_difference,
    sub,
    svdf,
    tanh,
    tile,
    top_k,
    transpose,
    transpose_conv,
    trig,
    unidirectional_sequence_lstm,
    variables,
)
