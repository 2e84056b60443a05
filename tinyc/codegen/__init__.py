"""Plan (+ Board) -> a self-contained C99 library: `<name>.h`, `<name>.c`, `tinyc_fixedpoint.h`,
`CMakeLists.txt`, PlatformIO `library.json` and `report.json`.

The steps become direct calls of kernels specialised to their shapes (one Jinja2 template per kernel,
`templates/<kernel>.c.j2`), weights become `static const` arrays in section `.rodata.tinyc_weights`,
and intermediate tensors live at the planned offsets of one static arena. No heap, no interpreter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tinyc.codegen.cformat import c_identifier, c_type, check_model_name
from tinyc.codegen.library import io_tensors, render_library
from tinyc.codegen.output import write_folder
from tinyc.codegen.render import environment
from tinyc.codegen.report import build_report
from tinyc.codegen.variants import for_core
from tinyc.lower.plan import Plan

if TYPE_CHECKING:
    from tinyc.boards import Board


def generate(plan: Plan, out_dir: Path, name: str, board: Board | None = None, layout: str = "library",
             goal: str | None = None) -> dict:
    """Write the C library of `plan` into out_dir (replacing an earlier tinyc output); return the report.
    layout "arduino": as an Arduino library (tinyc/codegen/arduino.py). goal: "speed", "balanced" (default) or
    "size", which kernel variants the board's core gets (tinyc/codegen/variants.py)."""
    check_model_name(name)
    plan = for_core(plan, board, goal)
    files, facts = render_library(plan, name, board)
    if layout == "arduino":
        from tinyc.codegen.arduino import arduino_files

        files = arduino_files(files, facts)
    report = build_report(plan, facts, list(files))
    files["report.json"] = json.dumps(report, indent=1) + "\n"
    write_folder(Path(out_dir), files)
    return report


def runner_source(plan: Plan, name: str) -> str:
    """A host test program for the library: `runner IN.bin OUT.bin` reads records of the model's input(s)
    (all inputs of one inference back to back, raw bytes) until end of file and writes one output record
    (all outputs back to back) per input record. `-` means stdin / stdout. Exit 0 on success, 2 on
    usage or I/O errors, 3 on a truncated input record, 4 if the model returns an error."""
    check_model_name(name)
    graph = plan.graph
    macro = name.upper()
    return environment().get_template("runner_main.c.j2").render(
        name=name, inputs=io_tensors(graph, "input", graph.inputs, macro),
        outputs=io_tensors(graph, "output", graph.outputs, macro))


__all__ = ["c_identifier", "c_type", "generate", "runner_source"]
