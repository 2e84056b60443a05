"""One self-contained HTML file for a report: inline SVG charts and tables, no script, no network.

Extending the report: :func:`render_html` takes ``extra_sections``, a sequence of :class:`Section`
(a title and an HTML body, already escaped by its producer; use :func:`table` for a table). They are
appended after the built-in sections, in order, each as ``<section class="extra" id="<slug>">`` with an
``<h2>``. This is how e.g. a validation against the float original joins the report::

    from tinyc.report.html import Section, render_html, table
    extra = [Section("Validation", table(("output", "RMSE"), [("Identity", "0.0123")]))]
    html = render_html(report, extra_sections=extra)
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tinyc.report.data import Report

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; } section { margin-bottom: 2em; } svg { max-width: 100%; height: auto; }
.note { color: #555; font-size: 0.85em; }
"""


@dataclass(frozen=True)
class Section:
    title: str
    body: str  # HTML


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return f"<td>{'—' if value is None else value}</td>"
    if isinstance(value, int):
        return f'<td class="n">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="n">{value:,.3f}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An HTML table; strings are escaped, numbers right-aligned with thousands separators."""
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows]
    return "\n".join(out) + "</table>"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


def _layers_table(report: Report) -> str:
    rows = [(i, layer.name, layer.kernel, layer.macs, layer.instructions, layer.ms, layer.weight_bytes,
             layer.arena_bytes) for i, layer in enumerate(report.layers)]
    return table(("#", "layer", "kernel", "MACs", "instructions", "est. ms", "weight bytes", "arena bytes"), rows)


def _summary(report: Report) -> str:
    b = report.board
    rows: list[tuple[str, object]] = [("board", f"{b.name} ({b.id}, {b.core}, {b.clock_mhz} MHz)"),
                                      ("layers", len(report.layers)),
                                      ("MACs", sum(layer.macs for layer in report.layers)),
                                      ("arena bytes", report.arena_bytes)]
    rows += [(f"flash: {k}", v) for k, v in report.flash.items()]
    rows += [(f"RAM: {k}", v) for k, v in report.ram.items()]
    if report.instructions is not None:
        rows.append(("instructions per inference, or per token of an LM (exact, emulated)", report.instructions))
    if report.ms is not None:
        rows.append((f"estimated latency at {b.clock_mhz} MHz (ms, an estimate)", report.ms))
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in report.notes)
    return table(("", ""), rows) + notes


def render_html(report: Report, svgs: dict[str, str], extra_sections: Sequence[Section] = ()) -> str:
    """The whole page. ``svgs``: inline SVG per chart (see :func:`tinyc.report.plots.charts`)."""
    sections = [Section("Summary", _summary(report)),
                Section("Board fit", svgs["fit"]),
                Section("Cost per layer", svgs["layers"] + _layers_table(report)),
                Section("Arena timeline", svgs["memory"] + '<p class="note">Each rectangle is one buffer of '
                        "the arena (tensors sharing bytes are one), from the first step that touches it to "
                        "the last; graph inputs and outputs live in the caller's buffers.</p>")]
    if "snr" in svgs:
        sections.append(Section("Quantization SNR", svgs["snr"] + table(
            ("layer", "SNR (dB)"), [(k, v) for k, v in report.snr.items()])))
    parts = [f'<section id="{_slug(s.title)}"><h2>{html.escape(s.title)}</h2>\n{s.body}\n</section>'
             for s in sections]
    parts += [f'<section class="extra" id="{_slug(s.title)}"><h2>{html.escape(s.title)}</h2>\n{s.body}\n'
              "</section>" for s in extra_sections]
    title = html.escape(f"tinyc report: {report.model} on {report.board.id}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
            + "\n".join(parts) + "\n</body></html>\n")
