"""Data movement as one strided copy: the family machinery of concat, split, slice, pad, tile, ...

Every movement op lowers to a program of blocks. A block writes one strided box of an output from a strided
box of an input (`in<k>`), of a constant (`k<k>`, in the step's consts) or of the fill value (`""`):
out<o>[out_offset + sum(i_d * out_strides_d)] = src[src_offset + sum(i_d * src_strides_d)] for i in shape.
Strides are in elements and may be zero (broadcast) or negative (reflection). Blocks run in order, so a
later block may overwrite an earlier fill. The bytes are moved as they are, whatever the dtype and the
quantization (TFLM's movement kernels copy int8 bytes without requantizing, too).

The reference kernel (`run_copy`) and the C template (copy.c.j2) execute the same program; a program that
is one whole contiguous copy becomes an alias of its input in the memory plan instead (`lower_copy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step

FILL = ""


@dataclass(frozen=True)
class Block:
    out: int
    src: str  # "in<k>", "k<k>" or FILL
    out_offset: int
    src_offset: int
    shape: tuple[int, ...]
    out_strides: tuple[int, ...]
    src_strides: tuple[int, ...]

    def as_tuple(self) -> tuple:
        return (self.out, self.src, self.out_offset, self.src_offset, self.shape, self.out_strides, self.src_strides)


def strides_of(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major element strides."""
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return tuple(reversed(out))


def block(out: int, src: str, shape: tuple[int, ...], out_strides: tuple[int, ...], src_strides: tuple[int, ...],
          out_offset: int = 0, src_offset: int = 0) -> Block:
    """A block with unit dimensions dropped and dimensions that are contiguous on both sides merged."""
    dims = [(n, o, s) for n, o, s in zip(shape, out_strides, src_strides, strict=True) if n != 1]
    merged: list[tuple[int, int, int]] = []
    for n, o, s in dims:
        if merged and merged[-1][1] == n * o and merged[-1][2] == n * s:
            merged[-1] = (merged[-1][0] * n, o, s)
        else:
            merged.append((n, o, s))
    if not merged:
        merged = [(1, 1, 1)]
    return Block(out, src, int(out_offset), int(src_offset), tuple(int(m[0]) for m in merged),
                 tuple(int(m[1]) for m in merged), tuple(int(m[2]) for m in merged))


def dense(out: int, src: str, shape: tuple[int, ...], out_shape: tuple[int, ...], src_shape: tuple[int, ...],
          out_start: tuple[int, ...] | None = None, src_start: tuple[int, ...] | None = None,
          src_step: tuple[int, ...] | None = None) -> Block:
    """A box of `shape` from a row-major source (at src_start, stepping src_step) to a row-major output."""
    rank = len(shape)
    os_, ss = strides_of(out_shape), strides_of(src_shape)
    out_start = out_start or (0,) * rank
    src_start = src_start or (0,) * rank
    src_step = src_step or (1,) * rank
    return block(out, src, shape, os_, tuple(s * k for s, k in zip(ss, src_step, strict=True)),
                 sum(a * b for a, b in zip(out_start, os_, strict=True)),
                 sum(a * b for a, b in zip(src_start, ss, strict=True)))


def indices(b: Block) -> tuple[np.ndarray, np.ndarray]:
    """Flat output and source element indices of a block, in its loop order."""
    grids = np.indices(b.shape, dtype=np.int64).reshape(len(b.shape), -1)
    out = b.out_offset + np.tensordot(np.array(b.out_strides, np.int64), grids, axes=1)
    src = b.src_offset + np.tensordot(np.array(b.src_strides, np.int64), grids, axes=1)
    return out, src


def run_copy(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    n = inputs[0].shape[0] if inputs else 1
    outs = [np.zeros((n, int(np.prod(s, dtype=np.int64))), dtype=np.dtype(p["dtype"])) for s in p["out_shapes"]]
    for raw in p["blocks"]:
        b = Block(*raw)
        dst, src = indices(b)
        if b.src == FILL:
            outs[b.out][:, dst] = p["fill"]
        elif b.src.startswith("in"):
            outs[b.out][:, dst] = inputs[int(b.src[2:])].reshape(n, -1)[:, src]
        else:
            outs[b.out][:, dst] = step.consts[b.src].reshape(-1)[src]
    return [o.reshape((n, *s)) for o, s in zip(outs, p["out_shapes"], strict=True)]


def is_identity(blocks: list[Block], size: int) -> bool:
    """One block copying all of input 0 to output 0 in order."""
    if len(blocks) != 1:
        return False
    b = blocks[0]
    return (b.src == "in0" and b.out == 0 and b.out_offset == b.src_offset == 0 and b.shape == (size,)
            and b.out_strides == b.src_strides == (1,))


def lower_copy(node: Node, graph: Graph, blocks: list[Block], fill: int | float = 0,
               consts: dict[str, np.ndarray] | None = None, inputs: list[str] | None = None) -> Step:
    """The step of a movement op: its copy program, or an alias when it moves nothing.

    `inputs` are the activation inputs the program calls in0, in1, ... (default: the node's non-constant ones)."""
    if inputs is None:
        inputs = [n for n, k in const_inputs(node, graph).items() if k.startswith("in")]
    outs = [graph.tensor(n) for n in node.outputs]
    if len(outs) == 1 and inputs and graph.tensor(inputs[0]).size == outs[0].size and is_identity(blocks, outs[0].size):
        return Step("reshape", node.name, [inputs[0]], [outs[0].name], {"out_shape": outs[0].shape}, alias=True)
    dtype = outs[0].dtype
    params = {"blocks": tuple(b.as_tuple() for b in blocks), "out_shapes": tuple(t.shape for t in outs),
              "dtype": dtype, "fill": float(fill) if dtype == "float32" else int(fill),
              "moved": sum(int(np.prod(b.shape)) for b in blocks)}
    step = Step("copy", node.name, list(inputs), [t.name for t in outs], params)
    if consts:
        step.consts = {k: np.ascontiguousarray(v).reshape(-1) for k, v in consts.items()}
    return step


def const_inputs(node: Node, graph: Graph) -> dict[str, str]:
    """The program's name of each input: in<k> for activations, k<k> for constants, in node order."""
    names: dict[str, str] = {}
    n_act = n_const = 0
    for name in node.inputs:
        if not name or name in names:
            continue
        if graph.tensor(name).is_const:
            names[name], n_const = f"k{n_const}", n_const + 1
        else:
            names[name], n_act = f"in{n_act}", n_act + 1
    return names


def positive_axis(axis: int, rank: int, node: Node) -> int:
    from tinyc.ops import expect

    expect(-rank <= axis < rank, node, f"axis {axis} out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


KERNELS = {"copy": run_copy}  # the aliasing "reshape" kernel is tinyc/ops/reshape.py's
