"""An execution order of the steps for a small arena: the topological order of the step graph with the lowest
peak of live bytes, by exact search over the sets of steps already run.

A step runs after the producers of its inputs; steps with persistent state keep their order among themselves
(a variable's reads and assignments). The estimate counts each tensor's bytes (a reshape's output as its input's)
from its producer to its last reader, graph inputs and outputs apart (the caller's buffers), plus the step's
scratch. The search visits every downward-closed set of steps once, so it gives up on graphs with more than
MAX_STATES of them (wide graphs); the memory plan then keeps the graph's order.
"""

from __future__ import annotations

from tinyc.lower.plan import Plan

MAX_STATES = 20_000  # downward-closed sets of one size
MAX_STEPS = 2_000


def memory_order(plan: Plan) -> list[int] | None:
    """Step indices in the order of lowest estimated peak, or None when that is the graph's order (or only
    order) or the search is too large. Ties keep the graph's order."""
    steps = plan.steps
    n = len(steps)
    producer = {name: i for i, s in enumerate(steps) for name in s.outputs}
    deps = [0] * n
    last_stateful = None
    for i, s in enumerate(steps):
        for name in s.inputs:
            if name in producer and producer[name] != i:
                deps[i] |= 1 << producer[name]
        if s.state:
            if last_stateful is not None:
                deps[i] |= 1 << last_stateful
            last_stateful = i
    if all(deps[i] >> (i - 1) == 1 for i in range(1, n)) or n > MAX_STEPS:  # a chain: one order
        return None
    size, made, needed = _buffers(plan, producer)
    written = [sum(b for b, m in zip(size, made, strict=True) if m >> i & 1) + steps[i].scratch for i in range(n)]
    best: dict[int, tuple[int, int, int]] = {0: (0, -1, -1)}  # done set -> (peak, previous set, step)
    frontier = [0]
    for _ in range(n):
        nxt: dict[int, tuple[int, int, int]] = {}
        for done in frontier:
            peak = best[done][0]
            # bytes written before and still to be read (by the next step too)
            held = sum(b for b, m, r in zip(size, made, needed, strict=True) if m & done and r & ~done)
            for i in range(n):
                if done >> i & 1 or deps[i] & ~done:
                    continue
                cand = (max(peak, held + written[i]), done, i)
                key = done | 1 << i
                if key not in nxt or cand < nxt[key]:
                    nxt[key] = cand
        if len(nxt) > MAX_STATES:
            return None
        best.update(nxt)
        frontier = sorted(nxt)
    order, done = [], (1 << n) - 1
    while done:
        _, done, i = best[done]
        order.append(i)
    order.reverse()
    return None if order == list(range(n)) else order


def _buffers(plan: Plan, producer: dict[str, int]) -> tuple[list[int], list[int], list[int]]:
    """Per arena buffer (a tensor and the reshapes of it): its bytes, the mask of the step writing it and the
    mask of the steps reading it."""
    graph = plan.graph
    io = set(graph.inputs) | set(graph.outputs)
    base: dict[str, str] = {}
    for s in plan.steps:
        if s.alias:
            base[s.outputs[0]] = base.get(s.inputs[0], s.inputs[0])
    groups: dict[str, list[str]] = {}
    for name in producer:
        groups.setdefault(base.get(name, name), []).append(name)
    size, made, needed = [], [], []
    for root, names in groups.items():
        if io & {root, *names} or root not in producer:
            continue
        readers = 0
        for i, s in enumerate(plan.steps):
            if set(s.inputs) & set(names) and not (s.alias and s.outputs[0] in names):
                readers |= 1 << i
        size.append(graph.tensor(root).nbytes)
        made.append(1 << producer[root])
        needed.append(readers)
    return size, made, needed
