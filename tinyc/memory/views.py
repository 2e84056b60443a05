"""Which tensors live inside another's bytes: aliases, views, in-place concatenation and in-place results.

A group is a root tensor and the tensors laid inside its bytes, each at a byte offset from the root:
- an alias (a reshape step) sits at offset 0 of its input;
- a view: a copy step's output that is one contiguous run of an input (SLICE, STRIDED_SLICE, SPLIT, SPLIT_V,
  UNPACK along the outermost non-unit axis) sits in that input at the run's offset;
- a part: a copy step's input that is one contiguous run of an output (CONCATENATION, PACK along the outermost
  non-unit axis) is written by its producer straight into that output at the run's offset;
- an in-place result: an element-wise step's output over one of its `overwrite` inputs, when nothing in that
  input's group is read later.
Apart from groups, a tie lets a row-major window kernel's output (a conv's) overlap its dying input from a
distance on (tinyc.memory.window): the planner places the two buffers as it likes within that rule.
The copy blocks that the layout makes no-ops (a view's, a part's) are the step's `elided` blocks: the C skips
them, and a step left with none emits no code. The reference runtime runs every block: views change where
bytes live, not their values.

Safety rests on who writes a group's bytes: only the producers of its roots, parts and in-place results, each
over its own range, and the copy steps' remaining blocks, never over a part's range. So a view or part reads
the bytes its source wrote for as long as its group lives, and an in-place result is taken only when every
tensor of its input's group is dead. A group holds at most one graph input or output, which is its root's whole
extent (the caller's buffer); a part is never a graph input or output, nor a view of one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from tinyc.lower.plan import Plan, Step
from tinyc.memory.window import lead
from tinyc.ops._movement import Block, indices

ALIAS, VIEW, PART, INPLACE = "alias", "view", "part", "inplace"


@dataclass(frozen=True)
class Tie:
    """Group `out` may overlap group `src` (both roots) when it starts at least `offset` bytes below it (a
    negative offset: at most that far above): step `step` writes it over the rows of `src` it has finished
    reading."""

    src: str
    out: str
    offset: int
    step: int


@dataclass
class Layout:
    plan: Plan
    ties: list[Tie] = field(default_factory=list)
    parent: dict[str, tuple[str, int]] = field(default_factory=dict)  # tensor -> (tensor it sits in, byte offset)
    kind: dict[str, str] = field(default_factory=dict)  # how it got there (ALIAS, VIEW, PART, INPLACE)
    children: dict[str, list[str]] = field(default_factory=dict)

    def root(self, name: str) -> tuple[str, int]:
        """The group's root and the tensor's byte offset in it."""
        offset = 0
        while name in self.parent:
            name, k = self.parent[name]
            offset += k
        return name, offset

    def members(self, root: str) -> list[str]:
        out, todo = [], [root]
        while todo:
            name = todo.pop()
            out.append(name)
            todo += self.children.get(name, [])
        return out

    def extent(self, root: str) -> int:
        """Bytes of the group: the end of its furthest member."""
        graph = self.plan.graph
        return max(self.root(m)[1] + graph.tensor(m).nbytes for m in self.members(root))

    def io(self, root: str) -> list[str]:
        graph = self.plan.graph
        io = set(graph.inputs) | set(graph.outputs)
        return [m for m in self.members(root) if m in io]

    def link(self, child: str, parent: str, offset: int, kind: str) -> None:
        self.parent[child] = (parent, offset)
        self.kind[child] = kind
        self.children.setdefault(parent, []).append(child)

    def whole(self, name: str) -> bool:
        """The tensor is its group's root and spans all of it."""
        return self.root(name)[0] == name and self.extent(name) == self.plan.graph.tensor(name).nbytes


def layout(plan: Plan, views: bool = True) -> Layout:
    """Decide the groups of a lowered plan; set each copy step's `elided` blocks (none without `views`: every
    movement step copies, as a plan that only aliases reshapes and writes in place)."""
    lay = Layout(plan)
    for step in plan.steps:
        step.elided, step.inplace = (), False
    _aliases(lay)
    if views:
        _parts(lay)
        _views(lay)
    _inplace(lay)
    return lay


def _aliases(lay: Layout) -> None:
    graph = lay.plan.graph
    io = set(graph.inputs) | set(graph.outputs)
    for step in lay.plan.steps:
        if step.alias:
            src, out = step.inputs[0], step.outputs[0]
            if not (out in io and lay.io(lay.root(src)[0])):  # two caller buffers: the C copies
                lay.link(out, src, 0, ALIAS)


def _run(b: Block, size: int) -> bool:
    """The block moves `size` consecutive elements in order."""
    return b.shape == (size,) and b.out_strides == b.src_strides == (1,)


def _overwritten(step: Step, skip: int, out: int, start: int, size: int) -> bool:
    """Some block of the step other than block `skip` writes elements start .. start + size - 1 of output `out`."""
    for k, raw in enumerate(step.params["blocks"]):
        b = Block(*raw)
        if k == skip or b.out != out:
            continue
        reach = [(n - 1) * s for n, s in zip(b.shape, b.out_strides, strict=True)]
        lo = b.out_offset + sum(min(r, 0) for r in reach)
        hi = b.out_offset + sum(max(r, 0) for r in reach)
        if lo < start + size and start <= hi:  # the spans meet: look at the elements
            dst = indices(b)[0]
            if np.any((dst >= start) & (dst < start + size)):
                return True
    return False


def _copy_blocks(step: Step) -> list[tuple[int, Block, str, str]]:
    """(index, block, source input tensor, output tensor) of a copy step's blocks reading an activation input."""
    if step.kernel != "copy" or step.alias:
        return []
    out = []
    for k, raw in enumerate(step.params["blocks"]):
        b = Block(*raw)
        if b.src.startswith("in"):
            out.append((k, b, step.inputs[int(b.src[2:])], step.outputs[b.out]))
    return out


def _parts(lay: Layout) -> None:
    """Concatenation in place, outermost steps first so that a nested concatenation lands in the outer one."""
    graph = lay.plan.graph
    produced = {n for s in lay.plan.steps for n in s.outputs}
    for step in reversed(lay.plan.steps):
        for k, b, src, out in _copy_blocks(step):
            t, y = graph.tensor(src), graph.tensor(out)
            if t.dtype != y.dtype or b.src_offset != 0 or not _run(b, t.size):
                continue
            part, offset = lay.root(src)  # through aliases: a reshaped conv output is written in place too
            if (offset != 0 or not lay.whole(part) or part not in produced or lay.io(part)
                    or lay.root(out)[0] == part):
                continue
            if _overwritten(step, k, b.out, b.out_offset, t.size):
                continue
            lay.link(part, out, b.out_offset * y.np_dtype.itemsize, PART)
            step.elided += (k,)


def _views(lay: Layout) -> None:
    graph = lay.plan.graph
    for step in lay.plan.steps:
        for k, b, src, out in _copy_blocks(step):
            t, y = graph.tensor(src), graph.tensor(out)
            if k in step.elided or t.dtype != y.dtype or b.out_offset != 0 or not _run(b, y.size):
                continue
            if not lay.whole(out) or lay.io(out) or any(lay.kind.get(m) == PART for m in lay.members(out)):
                continue
            if _overwritten(step, k, b.out, 0, y.size):
                continue
            lay.link(out, src, b.src_offset * t.np_dtype.itemsize, VIEW)
            step.elided += (k,)


def _inplace(lay: Layout) -> None:
    """Outputs written over an input whose group dies at the step, in step order: an element-wise output over
    one of its `overwrite` inputs (at the same offset), a row-major window kernel's output over its input
    (tinyc.memory.window: the input at the lead's offset in the output's group). Marks those steps `inplace`."""
    plan, graph = lay.plan, lay.plan.graph
    end = len(plan.steps)
    last = {n: end for n in graph.outputs}
    for i, step in enumerate(plan.steps):
        for n in step.inputs:
            last[n] = max(last.get(n, i), i)

    def dies(src: str, i: int) -> bool:
        group = lay.members(lay.root(src)[0])
        return all(last.get(m, -1) <= i for m in group) and not set(group) & set(graph.inputs)

    for i, step in enumerate(plan.steps):
        if not step.outputs:
            continue
        out = step.outputs[0]
        for k in step.overwrite:
            src = step.inputs[k]
            if graph.tensor(src).nbytes != graph.tensor(out).nbytes or not lay.whole(out):
                continue
            r, offset = lay.root(src)
            others = [n for n in step.inputs if n != src]  # (x + x reads both before writing: fine)
            if r == out or not dies(src, i) or any(lay.root(n)[0] == r for n in others):
                continue  # another input in the same bytes could be read after they are written
            if lay.io(out) and not (offset == 0 and lay.whole(src)):
                continue  # the caller's output buffer would have to hold more than the output
            lay.link(out, src, 0, INPLACE)
            step.inplace = True
            break
        if not step.inplace and step.inputs:
            _overlap(lay, step, i, dies)


def _overlap(lay: Layout, step: Step, i: int, dies: Callable[[str, int], bool]) -> None:
    """A window kernel's output over its input's finished rows: the two buffers stay apart in the plan, tied
    so that the input starts `lead` bytes after the output (tinyc.memory places them together)."""
    graph = lay.plan.graph
    src, out = step.inputs[0], step.outputs[0]
    t, y = graph.tensor(src), graph.tensor(out)
    d = lead(step, t.np_dtype.itemsize, y.np_dtype.itemsize)
    if d is None or not (lay.whole(src) and lay.whole(out)) or lay.io(src) or lay.io(out) or not dies(src, i):
        return
    if max(t.nbytes + max(d, 0), y.nbytes) >= t.nbytes + y.nbytes:
        return  # no saving over two separate buffers
    lay.ties.append(Tie(src, out, d, i))
    step.inplace = True


def residual(step: Step) -> Step | None:
    """The copy a step still has to do once its elided blocks are skipped, its inputs and outputs renumbered to
    those the remaining blocks touch; None if none remain. Other steps are returned as they are."""
    if not step.elided:
        return step
    keep = [Block(*raw) for k, raw in enumerate(step.params["blocks"]) if k not in step.elided]
    if not keep:
        return None
    ins = sorted({int(b.src[2:]) for b in keep if b.src.startswith("in")})
    outs = sorted({b.out for b in keep})
    blocks = tuple(replace(b, out=outs.index(b.out),
                           src=f"in{ins.index(int(b.src[2:]))}" if b.src.startswith("in") else b.src).as_tuple()
                   for b in keep)
    params = step.params | {"blocks": blocks, "out_shapes": tuple(step.params["out_shapes"][o] for o in outs),
                            "moved": sum(int(np.prod(b.shape)) for b in keep)}
    return replace(step, inputs=[step.inputs[k] for k in ins], outputs=[step.outputs[o] for o in outs],
                   params=params, elided=())
