"""The report's charts, drawn with matplotlib (object API, no pyplot state): per-layer cost, the arena
timeline, the quantization SNR and the board-fit gauge. Each chart is a Figure; :func:`svg` inlines one in
HTML, :func:`save_png` writes it. Every drawn element carries a ``gid`` (``layer-bar-3``, ``timeline-rect-0``,
``snr-bar-1``, ``gauge-flash``) that matplotlib's SVG backend writes as its ``id``, so a browser test can
count them."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib import rcParams
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from tinyc.report.data import Report

rcParams["svg.fonttype"] = "none"  # text stays text in the SVG (smaller, selectable)
rcParams["svg.hashsalt"] = "tinyc"  # stable ids: the same report gives the same file
COLORS = {"weights": "#4c72b0", "code": "#8172b3", "arena": "#dd8452", "io": "#55a868", "static": "#937860",
          "stack": "#da8bc3", "free": "#e5e5e5"}


def _height(n: int) -> float:
    return min(2.0 + 0.28 * n, 14.0)


def layer_cost(report: Report) -> Figure:
    """One bar per layer: measured instructions (with estimated ms) or, when not emulated, MACs; and the
    layer's weight and arena bytes beside."""
    layers = report.layers
    names = [f"{i} {layer.name}" for i, layer in enumerate(layers)]
    measured = all(layer.instructions is not None for layer in layers)
    cost = [layer.instructions if measured else layer.macs for layer in layers]
    fig = Figure(figsize=(10, _height(len(layers))), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=(3, 2))
    for i, bar in enumerate(left.barh(range(len(layers)), cost, color=COLORS["weights"])):
        bar.set_gid(f"layer-bar-{i}")
    left.set_yticks(range(len(layers)), names, fontsize=7)
    left.invert_yaxis()
    left.set_xlabel("instructions (emulated, exact)" if measured else "MACs (instructions not measured)")
    left.set_title("cost per layer")
    if measured and all(layer.ms is not None for layer in layers):
        for i, layer in enumerate(layers):
            left.text(cost[i], i, f" {layer.ms:.3f} ms", va="center", fontsize=6)
    weights = [layer.weight_bytes for layer in layers]
    arena = [layer.arena_bytes for layer in layers]
    for i, bar in enumerate(right.barh(range(len(layers)), weights, color=COLORS["weights"], label="weights")):
        bar.set_gid(f"weight-bar-{i}")
    for i, bar in enumerate(right.barh(range(len(layers)), arena, left=weights, color=COLORS["arena"],
                                       label="arena (output + scratch)")):
        bar.set_gid(f"arena-bar-{i}")
    right.set_xlabel("bytes")
    right.legend(fontsize=7, loc="lower right")
    right.set_title("memory per layer")
    return fig


def memory_timeline(report: Report) -> Figure:
    """The arena: x is the step, y the byte offset; one rectangle per buffer over its lifetime."""
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax = fig.subplots()
    steps = max((b.last for b in report.timeline), default=0) + 1
    cmap = rcParams["axes.prop_cycle"].by_key()["color"]
    for i, b in enumerate(report.timeline):
        rect = Rectangle((b.first, b.offset), b.last - b.first + 1, b.size, facecolor=cmap[i % len(cmap)],
                         edgecolor="black", linewidth=0.4, alpha=0.85)
        rect.set_gid(f"timeline-rect-{i}")
        ax.add_patch(rect)
    ax.set_xlim(0, steps)
    ax.set_ylim(0, max(report.arena_bytes, 1))
    ax.set_xlabel("step")
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(f"arena: {report.arena_bytes:,} bytes, {len(report.timeline)} buffers")
    return fig


def quantization_snr(report: Report) -> Figure:
    """SNR (dB) of each layer's int8 output against the float original."""
    names = list(report.snr)
    values = [min(report.snr[n], 120.0) for n in names]  # an exact layer (inf) is drawn at 120 dB
    fig = Figure(figsize=(10, _height(len(names))), layout="constrained")
    ax = fig.subplots()
    for i, bar in enumerate(ax.barh(range(len(names)), values, color=COLORS["io"])):
        bar.set_gid(f"snr-bar-{i}")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("SNR (dB), higher is closer to the float original")
    ax.set_title("quantization SNR per layer")
    return fig


def board_fit(report: Report) -> Figure:
    """Flash and RAM as stacked parts against the board's capacity (the gauge's full width)."""
    board = report.board
    fig = Figure(figsize=(10, 2.2), layout="constrained")
    ax = fig.subplots()
    for row, (kind, parts, capacity) in enumerate((("flash", report.flash, board.flash_bytes),
                                                   ("ram", report.ram, board.ram_bytes))):
        back = ax.barh(row, 100, color=COLORS["free"])
        back[0].set_gid(f"gauge-{kind}")
        start = 0.0
        for part, size in parts.items():
            share = 100 * size / capacity
            seg = ax.barh(row, share, left=start, color=COLORS.get(part, "#999999"), label=f"{kind} {part}")
            seg[0].set_gid(f"gauge-{kind}-{part}")
            start += share
        used = sum(parts.values())
        ax.text(min(start, 100) + 0.5, row, f"{used:,} / {capacity:,} B ({100 * used / capacity:.1f}%)",
                va="center", fontsize=8)
    ax.set_yticks([0, 1], ["flash", "RAM"])
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of {board.id}")
    ax.legend(fontsize=6, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.45))
    ax.set_title("board fit" + ("" if report.measured else " (at least: from the library report)"))
    return fig


def charts(report: Report) -> dict[str, Figure]:
    """Every chart the report has, by file stem."""
    figs = {"layers": layer_cost(report), "memory": memory_timeline(report), "fit": board_fit(report)}
    if report.snr:
        figs["snr"] = quantization_snr(report)
    return figs


def svg(fig: Figure) -> str:
    """The figure as an inline <svg> element (no XML prolog, no DOCTYPE)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def save_png(fig: Figure, path: Path, dpi: int = 80) -> None:
    from tinyc.atomic import write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    write_bytes(path, buf.getvalue())
