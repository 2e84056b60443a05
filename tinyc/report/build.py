"""Build a :class:`~tinyc.report.data.Report` for a model on a board, and write it as HTML (+ PNGs)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.boards import Board, load_board
from tinyc.report.data import Report, model_layers, quantization_snr, timeline
from tinyc.report.html import Section, render_html

MEASURED = ("instructions from the emulated board ({machine}), exact, on the all-zero input; each layer from "
            "its kernel call to the next (the next call's argument set-up included); the run function's own "
            "{prologue:,} instructions before the first call are in the total only")


def model_report(plan: Any, library_report: dict[str, Any], lib_dir: Path | None, name: str, board: Board,
                 *, original: Path | None = None, data: np.ndarray | None = None) -> Report:
    """The report of a generated library (``library_report``: its report.json). With ``lib_dir`` and an
    emulated board, layers get measured instructions and flash/RAM come from the linked image."""
    from tinyc.bench.latency import estimate_ms, kernel_class, latency_note

    layers = model_layers(plan, library_report)
    totals = library_report["totals"]
    io = totals["input_bytes"] + totals["output_bytes"]
    report = Report(
        model=library_report["name"], board=board, layers=layers, timeline=timeline(plan),
        arena_bytes=totals["arena_bytes"], flash={"weights": totals["weight_bytes"]},
        ram={"arena": totals["ram_bytes"], "io": io}, measured=False,
    )
    bound = totals.get("arena_lower_bound")
    if bound:
        report.notes.append(f"arena {totals['arena_bytes']:,} B; lower bound {bound:,} B, the most bytes live at one "
                            f"step in this order (+{(totals['arena_bytes'] - bound) / bound:.1%})")
    if plan.patch is not None:
        report.notes.append(f"row bands: {plan.patch.describe()}")
    if lib_dir is not None and board.emulated:
        from tinyc.report.profile import profile_layers

        functions = [e["function"] for e in library_report["layers"] if not e.get("alias")]
        prof = profile_layers(lib_dir, name, board, functions, totals["input_bytes"])
        for layer, count in zip(layers, prof.per_call, strict=True):
            layer.instructions = count
            layer.ms = estimate_ms(count, board, kernel_class(layer.kernel))
        run = prof.run
        report.instructions = run.instructions_per_inference[0]
        if all(layer.ms is not None for layer in layers):
            report.ms = sum(layer.ms for layer in layers) + (estimate_ms(prof.prologue, board, "int8") or 0.0)
        report.flash = {"code": run.flash_code, "weights": run.flash_weights}
        report.ram = {"static": run.ram_static, "stack": run.stack_peak, "io": io}
        report.measured = True
        report.notes.append(MEASURED.format(machine=board.qemu.machine, prologue=prof.prologue))
        if report.ms is not None:
            report.notes.append(latency_note(board))
    elif not board.emulated:
        report.notes.append(f"{board.id} is not emulated here: cost is MACs, flash and RAM what the library "
                            "needs at least (weights; arena + input/output)")
    if original is not None and data is not None:
        report.snr = quantization_snr(plan, original, data)
        if not report.snr:
            report.notes.append(f"quantization SNR: no layer of {Path(original).name} matches one of this model by "
                                "tensor or node name, so none is shown")
    return report


def write_report(report: Report, out: Path, png_dir: Path | None = None,
                 extra_sections: Sequence[Section] = ()) -> list[Path]:
    """Write the HTML (and one PNG per chart into ``png_dir``); returns the files written."""
    from tinyc.atomic import write_text
    from tinyc.report.plots import charts, save_png, svg

    figs = charts(report)
    write_text(out, render_html(report, {k: svg(f) for k, f in figs.items()}, extra_sections))
    written = [Path(out)]
    if png_dir is not None:
        Path(png_dir).mkdir(parents=True, exist_ok=True)
        for stem, fig in figs.items():
            path = Path(png_dir) / f"{stem}.png"
            save_png(fig, path)
            written.append(path)
    return written


def report_for_model(model: Path, board_id: str, *, original: Path | None = None,
                     data: np.ndarray | None = None, emulate: bool = True, patch: bool = False) -> Report:
    """Compile ``model`` for the board into a temporary folder and report it (see :func:`model_report`)."""
    from tinyc.codegen import generate
    from tinyc.codegen.variants import for_core
    from tinyc.llm.library import is_checkpoint
    from tinyc.pipeline import build_plan, model_name

    board = load_board(board_id)
    if is_checkpoint(model):
        from tinyc.report.llm import checkpoint_report

        return checkpoint_report(model, board, emulate=emulate)
    plan = for_core(build_plan(model, patch), board)  # the kernels the board gets (the report names them)
    name = model_name(plan)
    with tempfile.TemporaryDirectory(prefix="tinyc-report-") as tmp:
        lib = Path(tmp) / "lib"
        library_report = generate(plan, lib, name, board)
        return model_report(plan, library_report, lib if emulate else None, name, board,
                            original=original, data=data)


def charts_available() -> bool:
    """Whether matplotlib (the ``tinyc[report]`` extra) is installed."""
    from importlib.util import find_spec

    return find_spec("matplotlib") is not None


def write_library_report(out_dir: Path, board_id: str, plan: Any = None, library_report: dict | None = None,
                         checkpoint: Path | None = None, quant: str = "int8", context: int = 256) -> Path | None:
    """``report.html`` beside a compiled library's report.json (static: no emulator run); None for the host
    target (no board to fit) or without matplotlib."""
    if board_id == "host" or not charts_available():
        return None
    board = load_board(board_id)
    if checkpoint is not None:
        from tinyc.report.llm import checkpoint_report

        rep = checkpoint_report(checkpoint, board, quant, context)
    else:
        assert library_report is not None
        rep = model_report(plan, library_report, None, library_report["name"], board)
    path = Path(out_dir) / "report.html"
    write_report(rep, path)
    return path
