"""One registry of ops. Each op module defines its shape rule, cost, lowering and reference kernels.

The stages (verifier, lowering, runtime, codegen) are generic drivers that ask the op.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyc.errors import GraphError, shown
from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step

# A reference kernel: (step, input arrays with a leading batch axis) -> output arrays.
Kernel = Callable[[Step, list[np.ndarray]], list[np.ndarray]]


class OpDef:
    name: str = ""
    arity: tuple[int, int] = (1, 1)  # min and max number of inputs
    outputs: tuple[int, int] = (1, 1)  # min and max number of outputs
    kernels: dict[str, Kernel] = {}

    def check(self, node: Node, graph: Graph) -> None:
        """Op-specific verification beyond arity; raise GraphError naming the node."""

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
    conv2d,
    cumsum,
    depth_to_space,
    depthwise_conv2d,
    detection_postprocess,
    div,
    elu,
    embedding_lookup,
    exp,
    floor_div,
    fully_connected,
    gather,
    gather_nd,
    hard_swish,
    l2_pool2d,
    leaky_relu,
    log,
    logical,
    logistic,
    max_pool2d,
    maximum,
    minimum,
    mul,
    neg,
    pad,
    prelu,
    reduce,
    relu,
    reshape,
    resize,
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
    transpose,
    transpose_conv,
    trig,
    unidirectional_sequence_lstm,
    variables,
)
