"""A matrix against its baseline (``benchmarks/baseline.json``): what CI fails on.

Failures: any output byte that differs from the reference runtime; an error row; a pair of the baseline
that is missing from the matrix, or a pair of the matrix that has no baseline row; a model file that
changed; a pair that ran before and now does not; and any metric of :data:`METRICS` worse than the
baseline by more than ``tolerance`` (1%). Compile time is never compared.

A deliberate change (a bigger but faster kernel, a new board) updates the baseline in the same commit
(``tinyc bench ... --baseline benchmarks/baseline.json --update-baseline``), with the reason in the
commit message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tinyc.atomic import write_text
from tinyc.bench.pair import ERROR, NO_FIT, OK

#: (path in a row, name in messages); lower is better for all of them
METRICS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("instructions",), "instructions per inference"),
    (("flash", "code"), "flash code"),
    (("flash", "weights"), "flash weights"),
    (("ram", "total"), "RAM total"),
)
VOLATILE = ("compile_seconds",)  # row fields a baseline does not keep

Rows = Mapping[str, Any] | Iterable[Mapping[str, Any]]


def rows_of(matrix: Rows) -> list[Mapping[str, Any]]:
    """The rows of a matrix document (or a plain list of rows)."""
    if isinstance(matrix, Mapping):
        return list(matrix["rows"])
    return list(matrix)


def pair_name(row: Mapping[str, Any]) -> str:
    return f"{row['model']} on {row['board']}"


def row_failures(matrix: Rows) -> list[str]:
    """What is wrong with a matrix on its own: outputs that differ from the reference, errors."""
    failures = []
    for row in rows_of(matrix):
        if row["status"] == ERROR:
            failures.append(f"{pair_name(row)}: error: {row['message']}")
        elif row["status"] == OK and not row["bit_exact"]:
            shown = ", ".join(map(str, row.get("mismatched_inputs", [])))
            against = row.get("compared_with") or "reference runtime"
            failures.append(f"{pair_name(row)}: {row['mismatches']} of {row['compared']} outputs differ from "
                            f"the {against} (inputs {shown}; input 0 is all-zero)")
    return failures


def metric(row: Mapping[str, Any], path: tuple[str, ...]) -> int | float | None:
    value: Any = row
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def compare(current: Rows, baseline: Rows, tolerance: float = 0.01) -> list[str]:
    """Every failure of ``current`` against ``baseline`` (empty: CI passes). See the module docstring."""
    failures = row_failures(current)
    now = {(r["model"], r["board"]): r for r in rows_of(current)}
    before = {(r["model"], r["board"]): r for r in rows_of(baseline)}
    failures += [f"{pair_name(before[k])}: missing pair (in the baseline, not in this matrix)"
                 for k in before if k not in now]
    failures += [f"{pair_name(now[k])}: not in the baseline (add it with --update-baseline)"
                 for k in now if k not in before]
    for key in (k for k in now if k in before):
        failures += _pair_failures(now[key], before[key], tolerance)
    return failures


def _pair_failures(row: Mapping[str, Any], base: Mapping[str, Any], tolerance: float) -> list[str]:
    name = pair_name(row)
    if row.get("model_sha256") != base.get("model_sha256"):
        return [f"{name}: the model file differs from the baseline's (update the baseline)"]
    if row["status"] != base["status"]:
        if row["status"] == OK and base["status"] == NO_FIT:
            return []  # it fits now: better, and its figures cannot be compared with "needs at least"
        detail = f": {row['message']}" if row["message"] else ""
        return [f"{name}: was '{base['status']}' in the baseline, now '{row['status']}'{detail}"]
    failures = []
    for path, label in METRICS:
        was, now = metric(base, path), metric(row, path)
        if was is None:
            continue
        if now is None:
            failures.append(f"{name}: {label} not measured (baseline {was:,})")
        elif now > was * (1 + tolerance):
            worse = f"{100 * (now - was) / was:.2f}% more" if was else "more"
            failures.append(f"{name}: {label} {now:,} is {worse} than the baseline's {was:,} "
                            f"(tolerance {100 * tolerance:g}%)")
    return failures


def baseline_document(matrix: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The baseline to commit for ``matrix``: its rows without volatile fields, replacing the rows of the
    same pairs in ``old`` in place, keeping old rows of pairs this matrix did not run."""
    fresh = {(r["model"], r["board"]): r for r in rows_of(matrix)}
    rows = [fresh.pop((r["model"], r["board"]), r) for r in rows_of(old or [])] + list(fresh.values())
    doc = {k: v for k, v in matrix.items() if k != "rows"}
    return {**doc, "rows": [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]}


def load_matrix(path: Path) -> dict[str, Any]:
    data = json.loads(Path(path).read_text())
    return data if isinstance(data, dict) else {"rows": data}


def save_matrix(doc: Mapping[str, Any], path: Path) -> None:
    write_text(path, json.dumps(doc, indent=1) + "\n")
