"""The whole matrix: every model on every board, pairs run in parallel processes (tinyc.bench.jobs), with a
progress bar over pairs."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tinyc.bench.defaults import DEFAULT_INPUTS, DEFAULT_SEED
from tinyc.bench.jobs import run_pairs
from tinyc.bench.model import load_bench_model
from tinyc.boards import Board, load_board

FORMAT = 1  # version of the JSON document
TOOLS = ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc", "qemu-system-arm", "qemu-system-riscv32")


def bench_command(models: Sequence[str | Path], boards: Sequence[str], count: int, seed: int,
                  extra: Sequence[str] = ()) -> str:
    """The `tinyc bench` command line that produces this matrix (recorded in its JSON and Markdown);
    ``extra``: output options to show too."""
    parts = ["tinyc", "bench", "--models", ",".join(str(m) for m in models), "--boards", ",".join(boards)]
    parts += ["--inputs", str(count)] + (["--seed", str(seed)] if seed != DEFAULT_SEED else [])
    return " ".join(shlex.quote(p) for p in [*parts, *extra])


def tool_versions() -> dict[str, str]:
    """First version number each cross tool reports (the figures depend on them)."""
    versions = {}
    for tool in TOOLS:
        path = shutil.which(tool)
        if path is None:
            continue
        try:
            text = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        found = re.search(r"\d+\.\d+\.\d+", text.splitlines()[0] if text else "")
        versions[tool] = found.group(0) if found else "unknown"
    return versions


def run_matrix(
    models: Sequence[str | Path],
    boards: Sequence[str | Board],
    *,
    count: int = DEFAULT_INPUTS,
    seed: int = DEFAULT_SEED,
    jobs: int | None = None,
    progress: bool | None = None,
    timeout: float = 120.0,
    command_extra: Sequence[str] = (),
    patch: bool = False,
) -> dict[str, Any]:
    """Bench every model on every board: ``count`` seeded random inputs plus the all-zero one per pair.

    Returns the matrix document: ``rows`` (one per pair, models outer, boards inner, see
    :mod:`tinyc.bench.pair`), the inputs, seed, command and tool versions. ``progress`` None shows the
    bar only on a terminal; ``command_extra``: output options to add to the recorded command; ``patch``: each
    model's first layers in row bands where that pays (tinyc.memory.patch).
    """
    board_list = [load_board(b) if isinstance(b, str) else b for b in boards]
    loaded = [load_bench_model(m, count, seed, patch) for m in models]
    pairs = [(m, b) for m in loaded for b in board_list]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(pairs)))
    bar = tqdm(total=len(pairs), desc="tinyc bench", unit="pair", disable=None if progress is None
               else not progress)
    with bar:
        rows = run_pairs(pairs, workers, timeout, lambda: bar.update(1))
    return {
        "format": FORMAT,
        "command": bench_command(models, [b.id for b in board_list], count, seed, command_extra),
        "inputs": count,
        "seed": seed,
        "tools": tool_versions(),
        "rows": rows,
    }
