"""The lowered plan: each node bound to a kernel with every integer parameter precomputed.

The reference runtime executes a Plan and the code generator prints the same Plan as C, so
both share one definition of the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyc.ir import Graph


@dataclass
class Step:
    kernel: str  # e.g. "conv2d_s8": names the reference kernel, the C template and the Cython module
    node: str  # the IR node it came from
    inputs: list[str]  # activation tensors read (graph tensor names)
    outputs: list[str]  # activation tensors written
    params: dict[str, int | float | tuple] = field(default_factory=dict)  # scalars, printed as C literals
    consts: dict[str, np.ndarray] = field(default_factory=dict)  # arrays, printed as const data in flash
    alias: bool = False  # output 0 is input 0 reinterpreted (reshape): shares its bytes, no code
    inplace: bool = False  # element-wise: output 0 may overwrite input 0 when input 0 dies here
    scratch: int = 0  # bytes of kernel scratch needed during this step only
    macs: int = 0


@dataclass
class Buffer:
    """Where a tensor's bytes live: the caller's input or output buffer, or an arena offset."""

    region: str  # "input", "output" or "arena"
    offset: int = 0
    index: int = 0  # which graph input/output for those regions


@dataclass
class Plan:
    graph: Graph
    steps: list[Step]
    # Filled by tinyc.memory.plan_memory.
    buffers: dict[str, Buffer] = field(default_factory=dict)  # activation tensors and "<node>:scratch"
    arena_size: int = 0
    lower_bound: int = 0  # the largest set of arena bytes live at any one step
