"""The lowered plan: each node bound to a kernel with every integer parameter precomputed.

The reference runtime executes a Plan and the code generator prints the same Plan as C, so
both share one definition of the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyc.ir import Graph


@dataclass
class State:
    """A buffer a step keeps between invocations (TFLite's variable tensors: an LSTM's hidden and cell state,
    an SVDF's memory; a resource variable, shared by the steps that read and assign it). It holds `init` (one
    value for every element, or an array of its shape) at start and after a reset; the step reads and rewrites
    it in place."""

    name: str  # "<node>:<key>", or "variable:<shared name>" for the steps of one resource variable
    dtype: str
    shape: tuple[int, ...]
    init: int | float | np.ndarray = 0

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass
class Step:
    kernel: str  # e.g. "conv2d_s8": names the reference kernel, the C template and the Cython module
    node: str  # the IR node it came from
    inputs: list[str]  # activation tensors read (graph tensor names)
    outputs: list[str]  # activation tensors written
    params: dict[str, int | float | tuple] = field(default_factory=dict)  # scalars, printed as C literals
    consts: dict[str, np.ndarray] = field(default_factory=dict)  # arrays, printed as const data in flash
    alias: bool = False  # output 0 is input 0 reinterpreted (reshape): shares its bytes, no code
    # set by the memory plan (tinyc.memory.views): output 0 shares bytes with an input it overwrites, so the C
    # kernel takes its pointers without `restrict`
    inplace: bool = False
    scratch: int = 0  # bytes of kernel scratch needed during this step only
    macs: int = 0
    # persistent buffers: the reference kernel takes them after its inputs and returns their new values after
    # its outputs; the C kernel gets a pointer to each after its outputs
    state: list[State] = field(default_factory=list)
    # copy blocks the memory plan makes no-ops (a view's, an in-place part's; tinyc.memory.views): the C skips them
    elided: tuple[int, ...] = ()
    # element-wise kernels: the inputs whose bytes output 0 may be written over when they die here (output i
    # depends on input i alone and the kernel reads it before writing it; tinyc.memory.views takes one)
    overwrite: tuple[int, ...] = ()


@dataclass
class Buffer:
    """Where a tensor's bytes live: the caller's input or output buffer, or an arena offset."""

    region: str  # "input", "output", "arena" or "state" (persistent, see State)
    offset: int = 0  # bytes from the region's start (a view or an in-place part sits inside its group's buffer)
    index: int = 0  # which graph input/output for those regions


@dataclass
class Plan:
    graph: Graph
    steps: list[Step]
    # Filled by tinyc.memory.plan_memory.
    buffers: dict[str, Buffer] = field(default_factory=dict)  # activation tensors and "<node>:scratch"
    arena_size: int = 0
    lower_bound: int = 0  # arena bytes no placement of these buffers in this order can go below
    state_size: int = 0  # bytes of persistent state (State buffers, one after another)
    patch: Any = None  # tinyc.memory.patch.Patch when the first layers run in row bands
