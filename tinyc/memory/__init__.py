"""Static memory planning: tensor lifetimes over the step order and offsets in one arena.

Graph inputs and outputs live in the caller's buffers (the C API takes their pointers), so the
arena holds intermediates and kernel scratch only. Tensors may share bytes (tinyc.memory.views: reshapes
alias their input, slices and splits are views at an offset, a concatenation's parts are written in place,
element-wise steps may write over an input that dies there); each group of them is one buffer, live from the
first step touching any of its tensors to the last, and a tensor's Buffer is its group's plus its offset.
Two buffers live at the same step get disjoint bytes, except a tied pair (a conv's output over the input rows
it has finished reading, views.Tie), which may overlap as far as the tie allows.
Offsets are placed first-fit, each buffer at the lowest aligned offset clear for its whole lifetime (or, for a
tied one, where it overlaps its partner most), in several orders (largest first as TFLM's greedy planner,
by step, ...), keeping the smallest arena; the lower bound (lower_bound) is what no placement of those buffers
in that order can beat. The steps run in the graph's order unless tinyc.memory.order finds one with a smaller
arena. Persistent step state (recurrent layers) lives apart from the arena, each buffer at its own aligned
offset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tinyc.lower.plan import Buffer, Plan
from tinyc.memory.order import memory_order
from tinyc.memory.views import Tie, layout

ALIGN = 16


@dataclass
class Interval:
    name: str
    size: int
    first: int  # first step at which it is live
    last: int  # last step at which it is live


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_memory(plan: Plan, views: bool = True, reorder: bool = True) -> Plan:
    """Buffers for every tensor of the plan (`views`: slices, splits and concatenation parts share bytes), the
    steps in the graph's order or, when that needs a smaller arena (and `reorder`), in the order
    tinyc.memory.order finds."""
    _assign(plan, views)
    order = memory_order(plan) if reorder else None
    if order is not None:
        steps, arena = plan.steps, plan.arena_size
        plan.steps = [steps[k] for k in order]
        _assign(plan, views)
        if plan.arena_size >= arena:  # no better: keep the graph's order
            plan.steps = steps
            _assign(plan, views)
    return plan


def _assign(plan: Plan, views: bool) -> None:
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

    # (a tied buffer may since have joined a caller's buffer: an in-place add writing the graph output)
    ties = [Tie(t.src, t.out, _align(t.offset), t.step) for t in lay.ties if {t.src, t.out} <= intervals.keys()]
    offsets = _place(list(intervals.values()), ties)
    overlapping = {t.step for t in ties if offsets[t.out] < offsets[t.src] + intervals[t.src].size
                   and offsets[t.src] < offsets[t.out] + intervals[t.out].size}
    for t in lay.ties:  # the C drops `restrict` only where the two buffers do overlap
        plan.steps[t.step].inplace = t.step in overlapping
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
    plan.arena_size = _end(offsets, intervals.values())
    plan.lower_bound = lower_bound(intervals, ties, len(plan.steps))


def _end(offsets: dict[str, int], intervals: Iterable[Interval]) -> int:
    return max((offsets[iv.name] + iv.size for iv in intervals), default=0)


def lower_bound(intervals: dict[str, Interval], ties: list[Tie], steps: int) -> int:
    """Bytes no placement of these buffers in this order can go below: the most live at one step (a tied pair
    as the least span of the two), and for each run of ties along a chain (each output the next tie's source),
    where no output jumps above its source, the first source plus the run's offsets (each output starts at
    least `offset` below its source), else the step of the jump with the pair apart."""
    apart = [0] * steps
    for iv in intervals.values():
        for i in range(iv.first, iv.last + 1):
            apart[i] += iv.size
    live = list(apart)
    for t in ties:
        src, out = intervals[t.src].size, intervals[t.out].size
        live[t.step] -= src + out - max(src + max(t.offset, 0), out)
    bound = max(live, default=0)
    after = {t.src: t for t in ties}
    for first in ties:
        total, jump, t = intervals[first.src].size, apart[first.step], first
        while t is not None:
            total, jump = total + t.offset, min(jump, apart[t.step])
            bound = max(bound, min(total, jump))
            t = after.get(t.out)
    return bound


# orders to place buffers in: the plan keeps the smallest arena of them, each with no preference, with a tied
# buffer's most overlapping offset taken first, and with that and each chain of tied buffers placed together
ORDERS: tuple[Callable[[Interval], tuple[int, ...]], ...] = (
    lambda iv: (-iv.size, iv.first),  # largest first (TFLM's greedy by size)
    lambda iv: (iv.first, -iv.size),  # in step order
    lambda iv: (-iv.last, -iv.size),  # in reverse step order
    lambda iv: (iv.first - iv.last, -iv.size),  # longest-lived first
)


def _place(intervals: list[Interval], ties: list[Tie]) -> dict[str, int]:
    chains = _chains(intervals, ties)
    span = {h: Interval(h, max(iv.size for iv, _ in c), min(iv.first for iv, _ in c), max(iv.last for iv, _ in c))
            for h, c in chains.items()}
    best: dict[str, int] = {}
    end = -1
    for order in ORDERS:
        units = [[(iv, 0)] for iv in sorted(intervals, key=lambda iv, order=order: (order(iv), iv.name))]
        tries = [(units, False)]
        if ties:
            linked = [chains[h] for h in sorted(chains, key=lambda h, o=order: (o(span[h]), h))]
            tries += [(units, True), (linked, True)]
        for ranked, tied_first in tries:
            offsets = _first_fit(ranked, ties, tied_first)
            size = _end(offsets, intervals)
            if end < 0 or size < end:
                best, end = offsets, size
    return best


def _chains(intervals: list[Interval], ties: list[Tie]) -> dict[str, list[tuple[Interval, int]]]:
    """Buffers linked by ties (each the source of one tie at most and the output of one at most), each at its
    offset from the chain's lowest one with every output where it overlaps its source most; by the first
    buffer's name (an untied buffer is a chain of one)."""
    after = {t.src: t for t in ties}
    tied_out = {t.out for t in ties}
    by_name = {iv.name: iv for iv in intervals}
    out = {}
    for iv in intervals:
        if iv.name in tied_out:
            continue
        members, name, rel = [(iv, 0)], iv.name, 0
        while name in after:
            t = after[name]
            name, rel = t.out, rel - max(t.offset, 0)
            members.append((by_name[name], rel))
        low = min(r for _, r in members)
        out[iv.name] = [(m, r - low) for m, r in members]
    return out


def _first_fit(units: list[list[tuple[Interval, int]]], ties: list[Tie], tied_first: bool) -> dict[str, int]:
    """Each unit (buffers at fixed offsets from its start) in turn at the lowest aligned offset where its
    buffers are clear of the placed buffers live at the same time, or (`tied_first`) at the offset overlapping
    most with a placed buffer tied to one of them when that is clear. A tied output may overlap its source
    when it starts at least the tie's offset below it."""
    tie_of = {(t.src, t.out): t for t in ties} | {(t.out, t.src): t for t in ties}
    placed: list[tuple[int, Interval]] = []
    offsets: dict[str, int] = {}
    for unit in units:
        banned = []  # open ranges of unit offsets it may not take
        best = []  # unit offsets where a buffer overlaps most with a tied one
        for iv, rel in unit:
            for off, o in placed:
                if not (o.first <= iv.last and iv.first <= o.last):
                    continue
                t = tie_of.get((iv.name, o.name))
                if t is None:
                    lo, hi = off - iv.size, off + _align(o.size)
                elif t.out == iv.name:  # iv at or below o's offset minus the tie's, or above o
                    lo, hi = off - t.offset, off + _align(o.size)
                    best.append(lo - rel)
                else:  # iv the source: at or above o's offset plus the tie's, or below o
                    lo, hi = off - iv.size, off + t.offset
                    best.append(hi - rel)
                banned.append((lo - rel, hi - rel))
        edges = {0, *best, *(b for lo, hi in banned for b in (lo // ALIGN * ALIGN, _align(hi)))}
        clear = sorted(c for c in edges if c >= 0 and not any(lo < c < hi for lo, hi in banned))
        preferred = [c for c in best if c in clear] if tied_first else []
        base = preferred[0] if preferred else clear[0]
        for iv, rel in unit:
            offsets[iv.name] = base + rel
            placed.append((base + rel, iv))
    return offsets


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
