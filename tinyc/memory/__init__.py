"""Static memory planning: tensor lifetimes over the step order and offsets in one arena.

Graph inputs and outputs live in the caller's buffers (the C API takes their pointers), so the
arena holds intermediates and kernel scratch only. Reshapes alias their input; element-wise
steps may write over an input that dies at that step. Offsets are placed greedily, largest
buffer first, at the lowest aligned offset free for its whole lifetime (TFLM's greedy planner
does the same); the lower bound is the largest total of bytes live at any one step. Persistent step
state (recurrent layers) lives apart from the arena, each buffer at its own aligned offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyc.lower.plan import Buffer, Plan

ALIGN = 16


@dataclass
class Interval:
    name: str
    size: int
    first: int  # first step at which it is live
    last: int  # last step at which it is live


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _alias_roots(plan: Plan) -> dict[str, str]:
    """Map every activation tensor to the tensor whose bytes it shares (itself unless aliased/in place)."""
    graph, root = plan.graph, {}
    io = set(graph.inputs) | set(graph.outputs)
    last_use = {n: i for i, s in enumerate(plan.steps) for n in s.inputs}
    for i, step in enumerate(plan.steps):
        for name in step.outputs:
            root[name] = name
        src = step.inputs[0] if step.inputs else None
        if src is None:
            continue
        shares = step.alias or (step.inplace and last_use.get(src) == i and src not in io
                                and graph.tensor(src).nbytes == graph.tensor(step.outputs[0]).nbytes)
        out = step.outputs[0]
        if shares and not (out in io and root.get(src, src) in io):
            root[out] = root.get(src, src)
    for name in graph.inputs:
        root.setdefault(name, name)
    return root


def plan_memory(plan: Plan) -> Plan:
    graph = plan.graph
    root = _alias_roots(plan)
    members: dict[str, list[str]] = {}
    for name, r in root.items():
        members.setdefault(r, []).append(name)
    # a group holding a graph input or output lives in the caller's buffer
    fixed: dict[str, Buffer] = {}
    for r, names in members.items():
        for k, name in enumerate(graph.inputs):
            if name in names:
                fixed[r] = Buffer("input", index=k)
        for k, name in enumerate(graph.outputs):
            if name in names:
                fixed[r] = Buffer("output", index=k)
    intervals: dict[str, Interval] = {}

    def touch(name: str, size: int, step: int) -> None:
        iv = intervals.setdefault(name, Interval(name, size, step, step))
        iv.size, iv.first, iv.last = max(iv.size, size), min(iv.first, step), max(iv.last, step)

    for i, step in enumerate(plan.steps):
        for name in step.inputs + step.outputs:
            r = root[name]
            if r not in fixed:
                touch(r, graph.tensor(name).nbytes, i)
        if step.scratch:
            touch(f"{step.node}:scratch", step.scratch, i)

    offsets = _place(sorted(intervals.values(), key=lambda iv: (-iv.size, iv.first, iv.name)))
    plan.buffers = {}
    for r, names in members.items():
        if r in fixed:
            buf = fixed[r]
        elif r in offsets:
            buf = Buffer("arena", offsets[r])
        else:  # an unused graph input
            continue
        for name in names:
            plan.buffers[name] = buf
    for name, off in offsets.items():
        if name.endswith(":scratch"):
            plan.buffers[name] = Buffer("arena", off)
    plan.state_size = _place_state(plan)
    plan.arena_size = max((offsets[iv.name] + iv.size for iv in intervals.values()), default=0)
    plan.lower_bound = max((sum(iv.size for iv in intervals.values() if iv.first <= i <= iv.last)
                            for i in range(len(plan.steps))), default=0)
    return plan


def _place_state(plan: Plan) -> int:
    """Offsets of the steps' persistent buffers in the state region; returns its size."""
    end = 0
    for step in plan.steps:
        for state in step.state:
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
