"""Patch-based execution by row bands (MCUNetV2's idea): the first layers of a model, a chain of window ops
(convolutions, depthwise convolutions, pools) from a graph input, run band by band of their last layer's output
rows, so their large intermediate tensors are never whole in RAM.

The rewrite is in the graph: for each band, every layer of the stage becomes a node over just the rows it needs,
its padding kept only where the band touches the image's top or bottom edge (the halo rows between bands are
computed twice), the first one reading a SLICE of the input rows (a view: no copy), and a CONCATENATION along
the rows writes the bands into the stage's output (each band's last layer writes its part in place). Every
output pixel is the same window over the same values as in the whole layer, so the outputs are the same bytes;
the kernels are the ones every layer gets, at the band's shape (bands of one shape share a function).

`patched_plan` tries every stage (the chain's first two layers or more) and band count in BANDS and keeps the
plan with the smallest arena, when it cuts the arena by MIN_CUT or more for at most MAX_EXTRA_MACS more MACs
(ties: the fewest extra MACs); `plan.patch` then says what it did and the arena and lower bound without it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tinyc.ir import Graph, Node
from tinyc.lower import Plan, Step, check_steps, lower
from tinyc.memory import plan_memory
from tinyc.ops._common import window_geometry

WINDOW_OPS = ("conv2d", "depthwise_conv2d", "avg_pool2d", "max_pool2d")
PRELUDE_OPS = ("transpose", "quantize", "reshape")  # one data input: the chain may start at their output
BANDS = (2, 3, 4, 6, 8, 12)
MIN_CUT = 0.10  # the arena must shrink by at least this share
MAX_EXTRA_MACS = 0.05  # the recomputed halo rows may add at most this share of the model's MACs
MAX_ABOVE_BOUND = 0.05  # a patched plan's arena at most this far above its lower bound


@dataclass(frozen=True)
class Patch:
    """What patched_plan did: the stage's nodes (first to last), the row bands of its output, the MACs it adds,
    and the arena and its lower bound without it."""

    nodes: tuple[str, ...]
    bands: int
    extra_macs: int
    unpatched_arena: int
    unpatched_lower_bound: int

    def to_json(self) -> dict:
        return {"nodes": list(self.nodes), "bands": self.bands, "extra_macs": self.extra_macs,
                "unpatched_arena_bytes": self.unpatched_arena,
                "unpatched_arena_lower_bound": self.unpatched_lower_bound}

    def describe(self) -> str:
        stage = self.nodes[0] if len(self.nodes) == 1 else f"{self.nodes[0]} .. {self.nodes[-1]}"
        return (f"{len(self.nodes)} layers ({stage}) in {self.bands} row bands, +{self.extra_macs:,} MACs; "
                f"without it the arena is {self.unpatched_arena:,} B (lower bound {self.unpatched_lower_bound:,} B)")


def stage_chain(graph: Graph) -> list[Node]:
    """The longest chain of window ops from the graph's first input (or the output of the layout or dtype
    changes right after it: an NCHW model's TRANSPOSE, a float-input model's QUANTIZE), batch 1 and NHWC, each
    the only reader of the one before (the first the only reader of its input), none writing a graph output."""
    if not graph.inputs:
        return []
    readers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for name in set(node.inputs):
            readers.setdefault(name, []).append(node)
    chain: list[Node] = []
    src = graph.inputs[0]
    while len(readers.get(src, [])) == 1 and readers[src][0].op in PRELUDE_OPS and src not in graph.outputs:
        src = readers[src][0].outputs[0]
    while True:
        nodes = readers.get(src, [])
        if len(nodes) != 1 or src in graph.outputs:
            return chain
        node = nodes[0]
        x = graph.tensor(src)
        if node.op not in WINDOW_OPS or node.inputs[0] != src or node.inputs.count(src) != 1 \
                or len(x.shape) != 4 or x.shape[0] != 1 or len(node.outputs) != 1 \
                or node.outputs[0] in graph.outputs:
            return chain
        chain.append(node)
        src = node.outputs[0]


def input_rows(node: Node, graph: Graph, first: int, end: int) -> tuple[int, int, int, int]:
    """The input rows [lo, hi) output rows [first, end) of `node` read, and the padding rows above and below."""
    kh = graph.tensor(node.inputs[1]).shape[1] if node.op in ("conv2d", "depthwise_conv2d") else node.attrs["kernel"][0]
    g = window_geometry(node, graph, kh, 1)
    lo = first * g["stride_h"] - g["pad_top"]
    hi = (end - 1) * g["stride_h"] - g["pad_top"] + g["dil_h"] * (kh - 1) + 1
    return max(lo, 0), min(hi, g["in_h"]), max(lo, 0) - lo, hi - min(hi, g["in_h"])


def band_spans(graph: Graph, stage: list[Node], bands: int) -> list[list[tuple[int, int]]]:
    """Per band (an even split of the stage's last output rows), the row range [lo, hi) of the stage's input
    and then of each layer's output that the band needs."""
    rows = graph.tensor(stage[-1].outputs[0]).shape[1]
    cuts = [rows * k // bands for k in range(bands + 1)]
    out = []
    for first, end in zip(cuts, cuts[1:], strict=False):
        spans = [(first, end)]  # last layer first
        for node in reversed(stage):
            spans.append(input_rows(node, graph, *spans[-1])[:2])
        out.append(spans[::-1])
    return out


def patched_graph(graph: Graph, stage: list[Node], bands: int) -> Graph:
    """`graph` with `stage` (a prefix of stage_chain) run in `bands` row bands of its last output."""
    g = Graph(graph.name, dict(graph.tensors), [], list(graph.inputs), list(graph.outputs), graph.source)
    where = next(i for i, n in enumerate(graph.nodes) if n is stage[0])
    new: list[Node] = []
    last = stage[-1]
    parts = []

    def tensor(like: str, rows: int, band: int) -> str:
        t = graph.tensor(like)
        name = f"{like}#band{band}"
        while name in g.tensors:
            name += "'"
        g.add_tensor(replace(t, name=name, shape=(t.shape[0], rows, *t.shape[2:])))
        return name

    for band, spans in enumerate(band_spans(graph, stage, bands)):  # spans[i + 1]: layer i's output rows
        src = stage[0].inputs[0]
        shape = graph.tensor(src).shape
        if spans[0] != (0, shape[1]):
            sliced = tensor(src, spans[0][1] - spans[0][0], band)
            new.append(Node("slice", f"{stage[0].name} (rows of band {band + 1}/{bands})", [src], [sliced],
                            {"begin": (0, spans[0][0], 0, 0), "size": (1, spans[0][1] - spans[0][0], *shape[2:])}))
            src = sliced
        for i, node in enumerate(stage):
            _, _, pad_top, pad_bottom = input_rows(node, graph, *spans[i + 1])
            _, left, _, right = node.attrs.get("pads", (0, 0, 0, 0))
            out = tensor(node.outputs[0], spans[i + 1][1] - spans[i + 1][0], band)
            new.append(Node(node.op, f"{node.name} (band {band + 1}/{bands})", [src, *node.inputs[1:]], [out],
                            {**node.attrs, "pads": (pad_top, left, pad_bottom, right)}))
            src = out
        parts.append(src)
    new.append(Node("concatenation", f"{last.name} (bands joined)", parts, [last.outputs[0]], {"axis": 1}))
    rest = [n for n in graph.nodes if all(n is not s for s in stage)]
    g.nodes = rest[:where] + new + rest[where:]
    return g


def halo_macs(graph: Graph, stage: list[Node], bands: int) -> int:
    """The MACs the bands compute twice: each layer's output rows over all bands beyond its own, at its MACs
    per row."""
    from tinyc.ops import REGISTRY

    spans = band_spans(graph, stage, bands)
    extra = 0
    for i, node in enumerate(stage):
        computed = sum(s[i + 1][1] - s[i + 1][0] for s in spans)
        height = graph.tensor(node.outputs[0]).shape[1]
        extra += (computed - height) * REGISTRY[node.op].macs(node, graph) // height
    return extra


def lower_reusing(graph: Graph, lowered: dict[int, Step]) -> Plan:
    """lower(graph), taking a copy of the step in `lowered` (by node identity) for each node it holds: a
    patched graph shares every node outside the stage with the one it came from."""
    from tinyc.ops import REGISTRY

    graph.verify()
    steps = [replace(lowered[id(n)]) if id(n) in lowered else REGISTRY[n.op].lower(n, graph) for n in graph.nodes]
    plan = Plan(graph, steps)
    check_steps(plan)
    return plan


def patched_plan(graph: Graph, mode: str = "auto") -> Plan:
    """The memory plan of `graph`, its first layers run in row bands where that pays (see the module)."""
    unplanned = lower(graph)
    lowered = {id(n): replace(s) for n, s in zip(graph.nodes, unplanned.steps, strict=True)}
    base = plan_memory(unplanned)
    chain = stage_chain(graph) if mode == "auto" else []
    budget = MAX_EXTRA_MACS * sum(s.macs for s in base.steps)
    target = (1 - MIN_CUT) * base.arena_size
    best: tuple[tuple[int, int], Plan, list[Node], int] | None = None
    for end in range(2, len(chain) + 1):
        stage = chain[:end]
        out = graph.tensor(stage[-1].outputs[0])
        halos = {b: halo_macs(graph, stage, b) for b in BANDS if b <= out.shape[1]}
        counts = [b for b, extra in halos.items() if extra <= budget]
        if not counts:
            break  # a longer stage only adds halo rows
        if out.nbytes > target:
            continue  # the stage's output, live through all its bands, is already too big
        for bands in counts:
            # (in the graph's order, band after band: a search over the bands' interleavings finds no better)
            plan = plan_memory(lower_reusing(patched_graph(graph, stage, bands), lowered), reorder=False)
            if plan.arena_size > (1 + MAX_ABOVE_BOUND) * plan.lower_bound:
                continue  # the plan would stray from what it states it could reach
            key = (plan.arena_size, halos[bands])
            if best is None or key < best[0]:
                best = (key, plan, stage, bands)
    if best is None or best[0][0] > target:
        return base
    (_, extra), plan, stage, bands = best
    plan.patch = Patch(tuple(n.name for n in stage), bands, extra, base.arena_size, base.lower_bound)
    return plan
