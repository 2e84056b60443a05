"""Static memory planning: tensor lifetimes over the step order and offsets in one arena.

Graph inputs and outputs live in the caller's buffers (the C API takes their pointers), so the
arena holds intermediates and kernel scratch only. Tensors may share bytes (tinyc.memory.views: reshapes
alias their input, slices and splits are views at an offset, a concatenation's parts are written in place,
element-wise steps may write over an input that dies there); each group of them is one buffer, live from the
first step touching any of its tensors to the last, and a tensor's Buffer is its group's plus its offset.
Offsets are placed greedily, largest buffer first, at the lowest aligned offset free for its whole
lifetime (TFLM's greedy planner does the same); the lower bound is the largest total of bytes live at
any one step. Persistent step state (recurrent layers) lives apart from the arena, each buffer at its own
aligned offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyc.lower.plan import Buffer, Plan
from tinyc.memory.views import layout

ALIGN = 16


@dataclass
class Interval:
    name: str
    size: int
    first: int  # first step at which it is live
    last: int  # last step at which it is live


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_memory(plan: Plan, views: bool = True) -> Plan:
    """Buffers for every tensor of the plan (`views`: slices, splits and concatenation parts share bytes)."""
    graph = plan.graph
    lay = layout(plan, views)
    names = dict.fromkeys(graph.inputs + [n for s in plan.steps for n in s.inputs + s.outputs])
    root = {name: lay.root(name) for name in names}  # tensor -> (its group's root, byte offset in it)
    extent = {r: lay.extent(r) for r, _ in root.values()}
    # a group holding a graph input or output lives in the caller's buffer (its root, all of the group)
    fixed: dict[str, Buffer] = {}
    for k, name in enumerate(graph.inputs):
        fixed[root[name][0]] = Buffer("input", index=k)
    for k, name in enumerate(graph.outputs):
        fixed[root[name][0]] = Buffer("output", index=k)
    intervals: dict[str, Interval] = {}

    def touch(name: str, size: int, step: int) -> None:
        iv = intervals.setdefault(name, Interval(name, size, step, step))
        iv.size, iv.first, iv.last = max(iv.size, size), min(iv.first, step), max(iv.last, step)

    for i, step in enumerate(plan.steps):
        for name in step.inputs + step.outputs:
            r = root[name][0]
            if r not in fixed:
                touch(r, extent[r], i)
        if step.scratch:
            touch(f"{step.node}:scratch", step.scratch, i)

    offsets = _place(sorted(intervals.values(), key=lambda iv: (-iv.size, iv.first, iv.name)))
    plan.buffers = {}
    for name, (r, offset) in root.items():
        if r in fixed:
            plan.buffers[name] = Buffer(fixed[r].region, offset, fixed[r].index)
        elif r in offsets:
            plan.buffers[name] = Buffer("arena", offsets[r] + offset)
    for name, off in offsets.items():
        if name.endswith(":scratch"):
            plan.buffers[name] = Buffer("arena", off)
    plan.state_size = _place_state(plan)
    plan.arena_size = max((offsets[iv.name] + iv.size for iv in intervals.values()), default=0)
    plan.lower_bound = max((sum(iv.size for iv in intervals.values() if iv.first <= i <= iv.last)
                            for i in range(len(plan.steps))), default=0)
    return plan


def _place_state(plan: Plan) -> int:
    """Offsets of the steps' persistent buffers in the state region (one per State name: the steps of one
    resource variable share it); returns its size."""
    end = 0
    for step in plan.steps:
        for state in step.state:
            if state.name in plan.buffers:
                continue
            offset = _align(end)
            plan.buffers[state.name] = Buffer("state", offset)
            end = offset + state.nbytes
    return end


def _place(intervals: list[Interval]) -> dict[str, int]:
    placed: list[tuple[int, Interval]] = []
    offsets: dict[str, int] = {}
    for iv in intervals:
        busy = sorted((off, off + _align(o.size)) for off, o in placed if o.first <= iv.last and iv.first <= o.last)
        offset = 0
        for start, end in busy:
            if offset + iv.size <= start:
                break
            offset = max(offset, end)
        offsets[iv.name] = offset
        placed.append((offset, iv))
    return offsets
