"""Graph -> Graph passes, shared by every frontend and the quantizer.

Each pass rewrites the graph in place and returns how many rewrites it made.
`run_default_passes` repeats the default list until nothing changes, then verifies the graph.

Exact passes (layout simplification, transpose-into-FC folding, dead code) apply to any graph;
the ones that change float rounding (batch-norm, bias and activation folding) only to float32
tensors without quantization, so an int8 model keeps the bytes its reference engine gives.
`dequantize_weights` (not a default pass) turns a hybrid graph's int8 weights into float ones.
"""

from __future__ import annotations

from collections.abc import Callable

from tinyc.ir import Graph
from tinyc.passes.dead_code import remove_dead_code
from tinyc.passes.dequantize_weights import dequantize_weights
from tinyc.passes.fold_batch_norm import fold_batch_norm
from tinyc.passes.fold_bias import fold_bias
from tinyc.passes.fold_constants import fold_constants
from tinyc.passes.fold_pad import fold_pad_into_conv
from tinyc.passes.fold_transpose_fc import fold_transpose_into_fc
from tinyc.passes.fuse_activation import fuse_activations
from tinyc.passes.simplify_layout import simplify_layout

Pass = Callable[[Graph], int]

DEFAULT_PASSES: tuple[Pass, ...] = (
    fold_constants,
    fold_pad_into_conv,
    simplify_layout,
    fold_transpose_into_fc,
    fold_batch_norm,
    fold_bias,
    fuse_activations,
    remove_dead_code,
)
MAX_ROUNDS = 20


def run_default_passes(graph: Graph, passes: tuple[Pass, ...] = DEFAULT_PASSES) -> Graph:
    for _ in range(MAX_ROUNDS):
        if not sum(p(graph) for p in passes):
            break
    graph.verify()
    return graph


__all__ = [
    "DEFAULT_PASSES",
    "dequantize_weights",
    "fold_batch_norm",
    "fold_bias",
    "fold_constants",
    "fold_pad_into_conv",
    "fold_transpose_into_fc",
    "fuse_activations",
    "remove_dead_code",
    "run_default_passes",
    "simplify_layout",
]
