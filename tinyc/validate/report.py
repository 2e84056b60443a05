"""The validation as a section of the HTML report (tinyc.report.html.Section)."""

from __future__ import annotations

import html

from tinyc.report.html import Section, table


def validation_section(report: dict) -> Section:
    """The metrics table of :func:`tinyc.validate.validate`'s report, with what ran where."""
    rows = [(o["output"], o["name"], _pct(o["top1_agreement"]), _num(o["rmse"]), _num(o["max_abs_error"]),
             _num(o["l2_relative_error"]), _num(o["cosine"], ".6f")) for o in report["outputs"]]
    body = [f'<p class="note">{html.escape(report["model"])} on {html.escape(report["target"])} against '
            f'{html.escape(report["original"])} run by {html.escape(report["original_runtime"])}, on '
            f'{report["inputs"]} input(s); outputs dequantized with the model\'s own scale and zero point.</p>',
            table(("#", "output", "top-1 agreement", "RMSE", "max |error|", "L2 relative error", "cosine"), rows)]
    if "accuracy" in report:
        a = report["accuracy"]
        body.append(table(("accuracy", "deployed", "original"), [("top-1 vs labels", _pct(a["deployed"]),
                                                                   _pct(a["original"]))]))
    return Section("Validation against the float original", "\n".join(body))


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.2%}"


def _num(v: float | None, spec: str = ".4g") -> str:
    return "—" if v is None else format(v, spec)
