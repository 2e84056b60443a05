"""One row of the matrix: a model compiled for a board, run on its emulated core on every test input,
compared byte for byte with the reference runtime, and measured.

A row's ``status`` is one of
- ``ok``: run on the emulator; every field is measured;
- ``does not fit``: the model needs more flash or RAM than the board has (``message`` says which);
- ``generate only``: the board is not emulated here (Xtensa); the C is generated, not built or run;
- ``error``: something else failed (``message``); always a failure.
Outputs are compared with the reference runtime, except for a float model: its float kernels sum in
float32 in TFLM's order while the reference sums in float64 (close, not equal), so its bytes are compared
with the same generated C built for the host (``compared_with`` says which).
For the last three, flash and RAM are what the generated library needs at least (from its report):
weights, and arena + scratch + input/output buffers; code, static data and stack are unknown (None).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.bench.model import BenchModel
from tinyc.boards import Board
from tinyc.errors import TinycError

OK, NO_FIT, GENERATE_ONLY, ERROR = "ok", "does not fit", "generate only", "error"
STATUSES = (OK, NO_FIT, GENERATE_ONLY, ERROR)
REFERENCE, HOST_C = "reference runtime", "generated C on the host"
SHOWN_MISMATCHES = 5  # indices of differing inputs kept in a row


def bench_pair(model: BenchModel, board: Board, *, timeout: float = 120.0) -> dict[str, Any]:
    """The matrix row of ``model`` on ``board`` (never raises a TinycError: it becomes an error row)."""
    from tinyc.codegen import generate
    from tinyc.pipeline import memory_needs, model_name
    from tinyc.targets import fit_problems

    row = _new_row(model, board)
    name = model_name(model.plan)
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-") as tmp:
        lib = Path(tmp) / "lib"
        start = time.perf_counter()
        try:
            report = generate(model.plan, lib, name, board)
        except TinycError as exc:
            return _failed(row, ERROR, f"code generation failed: {exc}")
        row["compile_seconds"] = round(model.plan_seconds + time.perf_counter() - start, 3)
        _fill_from_report(row, report)
        problems = fit_problems(board, *memory_needs(model.plan))
        if problems:
            return _failed(row, NO_FIT, "; ".join(problems))
        if not board.emulated:
            return _failed(row, GENERATE_ONLY, board.status)
        try:
            _run(row, model, board, lib, name, timeout)
        except TinycError as exc:
            fit = str(exc).startswith("model needs")  # the link overflowed the board's flash or RAM
            return _failed(row, NO_FIT if fit else ERROR, str(exc))
    return row


def _new_row(model: BenchModel, board: Board) -> dict[str, Any]:
    return {
        "model": model.label,
        "model_sha256": model.sha256,
        "board": board.id,
        "core": board.core,
        "status": OK,
        "message": "",
        "macs": None,
        "bit_exact": None,
        "compared": 0,
        "compared_with": None,
        "mismatches": 0,
        "mismatched_inputs": [],
        "instructions": None,
        "instructions_min": None,
        "instructions_max": None,
        "instructions_vary": None,
        "instructions_per_mac": None,
        "ms_estimate": None,  # instructions x the board's CPI / clock (tinyc.bench.latency): an estimate
        "flash": {"code": None, "weights": None, "total": None},
        "ram": {"arena": None, "static": None, "stack_peak": None, "io": None, "total": None},
        "compile_seconds": None,
    }


def _failed(row: dict[str, Any], status: str, message: str) -> dict[str, Any]:
    row["status"] = status
    row["message"] = " ".join(message.split())
    return row


def _fill_from_report(row: dict[str, Any], report: dict[str, Any]) -> None:
    """What the generated library needs at least, before it is built."""
    totals = report["totals"]
    io = totals["input_bytes"] + totals["output_bytes"]
    row["macs"] = totals["macs"]
    row["flash"]["weights"] = totals["weight_bytes"]
    row["ram"].update(arena=totals["arena_bytes"], io=io, total=totals["ram_bytes"] + io)


def _run(row: dict[str, Any], model: BenchModel, board: Board, lib: Path, name: str, timeout: float) -> None:
    from tinyc.bench.latency import model_ms
    from tinyc.targets import run_board

    out = model.output_tensor
    flat = model.inputs.reshape(len(model.inputs), -1)
    run = run_board(lib, name, board, flat, output_dtype=out.np_dtype, timeout=timeout)
    got = run.outputs.reshape(len(flat), -1).view(np.uint8)
    if np.dtype(out.np_dtype).kind == "f":
        from tinyc.targets import run_host

        expected, row["compared_with"] = run_host(lib, name, flat, output_dtype=out.np_dtype), HOST_C
    else:
        expected, row["compared_with"] = model.expected, REFERENCE
    want = np.ascontiguousarray(expected).reshape(len(flat), -1).view(np.uint8)
    differ = np.flatnonzero((got != want).any(axis=1)) if got.shape == want.shape else np.arange(len(flat))
    counts = run.instructions_per_inference
    zero = counts[0]  # row 0 of the inputs is all-zero
    row.update(
        bit_exact=len(differ) == 0,
        compared=len(flat),
        mismatches=len(differ),
        mismatched_inputs=[int(i) for i in differ[:SHOWN_MISMATCHES]],
        instructions=zero,
        instructions_min=min(counts),
        instructions_max=max(counts),
        instructions_vary=min(counts) != max(counts),
        instructions_per_mac=round(zero / row["macs"], 4) if row["macs"] else None,
    )
    row["ms_estimate"] = model_ms(zero, model.plan, board)
    row["flash"].update(code=run.flash_code, weights=run.flash_weights, total=run.flash)
    ram = row["ram"]
    ram.update(static=run.ram_static, stack_peak=run.stack_peak, total=run.ram_peak + ram["io"])
