"""The matrix as Markdown: a summary of instructions per model and board, then one table per model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tinyc.bench.baseline import rows_of
from tinyc.bench.pair import GENERATE_ONLY, HOST_C, OK

COLUMNS = ("board", "core", "bit-exact", "instructions (all-zero input)", "est. ms", "spread over inputs",
           "instr / MAC", "flash code", "flash weights", "flash total", "arena", "static .data/.bss",
           "stack peak", "input + output", "RAM total", "compile (s)")
ALIGN = ("---", "---", "---") + ("---:",) * (len(COLUMNS) - 3)
INTRO = """
Each pair: the model compiled for the board, run on its emulated core on the all-zero input and {inputs}
random inputs (seed {seed}), outputs compared byte for byte with tinyc's reference runtime. Instructions
are counted exactly by a QEMU TCG plugin between two markers around one inference, on the all-zero input;
the spread is (max - min) / all-zero count over all inputs (data-dependent branches). est. ms is an estimate,
not a measurement: the instructions x the board's cycles per instruction for the model's kernel classes
(published core figures, cited in boards/*.yaml) / its clock. Flash code excludes
the test harness (startup, vectors, printing) but includes the libc/libgcc routines the model pulls in.
RAM total = static .data/.bss (arena included) + measured stack peak + the input and output buffers.
Bytes throughout. Float models are compared with the same C built for the host instead ("vs host C"):
their kernels sum in float32, the reference runtime in float64.
"""
STATUS_TEXT = {GENERATE_ONLY: "generate only, not emulated here"}


def num(value: int | float | None, prefix: str = "") -> str:
    if value is None:
        return "—"
    return f"{prefix}{value:,.2f}" if isinstance(value, float) else f"{prefix}{value:,}"


def table(head: tuple[str, ...], align: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def bit_exact(row: Mapping[str, Any]) -> str:
    if row["status"] != OK:
        return STATUS_TEXT.get(row["status"], row["status"])
    against = " vs host C" if row.get("compared_with") == HOST_C else ""
    if row["bit_exact"]:
        return f"yes ({row['compared']}/{row['compared']}{against})"
    return f"**NO** ({row['mismatches']} of {row['compared']} differ{against})"


def spread(row: Mapping[str, Any]) -> str:
    low, high, zero = row["instructions_min"], row["instructions_max"], row["instructions"]
    if low is None or not zero:
        return "—"
    return "none" if low == high else f"{100 * (high - low) / zero:.3f}%"


def pair_cells(row: Mapping[str, Any]) -> list[str]:
    flash, ram, measured = row["flash"], row["ram"], row["status"] == OK
    return [
        f"`{row['board']}`", row["core"], bit_exact(row), num(row["instructions"]),
        num(row.get("ms_estimate")), spread(row),
        num(row["instructions_per_mac"]), num(flash["code"]), num(flash["weights"]), num(flash["total"]),
        num(ram["arena"]), num(ram["static"]), num(ram["stack_peak"]), num(ram["io"]),
        num(ram["total"], "" if measured else "≥ "),
        f"{row['compile_seconds']:.2f}" if row.get("compile_seconds") is not None else "—",
    ]


def summary(rows: list[Mapping[str, Any]], models: list[str], boards: list[str]) -> list[str]:
    """Instructions per inference, boards down, models across."""
    cell = {(r["model"], r["board"]): r for r in rows}
    core = {r["board"]: r["core"] for r in rows}
    body = []
    for board in boards:
        cells = []
        for model in models:
            r = cell.get((model, board))
            cells.append("—" if r is None else num(r["instructions"]) if r["status"] == OK else r["status"])
        body.append([f"`{board}`", core[board], *cells])
    return table(("board", "core", *models), ("---", "---") + ("---:",) * len(models), body)


def render_markdown(matrix: Mapping[str, Any], title: str = "tinyc benchmark matrix") -> str:
    rows = rows_of(matrix)
    models = list(dict.fromkeys(r["model"] for r in rows))
    boards = list(dict.fromkeys(r["board"] for r in rows))
    tools = ", ".join(f"{k} {v}" for k, v in matrix.get("tools", {}).items())
    intro = INTRO.format(inputs=matrix.get("inputs", "?"), seed=matrix.get("seed", "?"))
    out = [f"# {title}", "", "Regenerate with:", "", "```sh", matrix.get("command", "tinyc bench"), "```", "",
           " ".join(intro.split()) + (f" Tools: {tools}." if tools else ""), "",
           "## Instructions per inference", ""]
    out += summary(rows, models, boards)
    notes: list[str] = []
    for model in models:
        mine = [r for r in rows if r["model"] == model]
        macs = next((r["macs"] for r in mine if r["macs"]), None)
        out += ["", f"## `{model}`" + (f" — {macs:,} MACs" if macs else ""), ""]
        out += table(COLUMNS, ALIGN, [pair_cells(r) for r in mine])
        notes += [f"- `{model}` on `{r['board']}`: {r['status']}: {r['message']}" for r in mine
                  if r["status"] != OK and r["status"] != GENERATE_ONLY]
    generate_only = sorted({r["board"] for r in rows if r["status"] == GENERATE_ONLY})
    if generate_only:
        notes.append(f"- {', '.join(f'`{b}`' for b in generate_only)}: generate only, not emulated here (no "
                     "Xtensa toolchain or QEMU machine); flash and RAM are what the generated library needs "
                     "at least (weights; arena + scratch + input/output), code and stack unknown.")
    if notes:
        out += ["", "## Notes", "", *notes]
    return "\n".join(out) + "\n"
