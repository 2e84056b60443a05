"""Instructions per layer on an emulated board: the library is built and run on the all-zero input by
the harness (:func:`tinyc.targets.run_board`, which also measures flash, RAM and the stack), then the same
ELF runs once more under ``steps_plugin.c``, which notes the instruction count at each entry of a kernel
function inside the harness's marker window. The run function calls one kernel per layer, in the report's
order, so layer k's instructions are from its call to the next (the next call's argument set-up included);
the run function's own prologue before the first call is reported apart."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tinyc.boards import Board
from tinyc.errors import ToolchainError
from tinyc.targets import MARKERS, BoardRun, run_board, symbol_addresses
from tinyc.targets.library import HARNESS_DIR
from tinyc.targets.qemu import qemu_command
from tinyc.targets.toolchain import cached_build, digest, host_cc, run_tool

PLUGIN = Path(__file__).with_name("steps_plugin.c")


@dataclass(frozen=True)
class Profile:
    run: BoardRun  # the harness's measurement (whole inference, flash, RAM, stack)
    per_call: list[int]  # instructions from each kernel call to the next (the last: to the end marker)
    prologue: int  # before the first call


def steps_plugin() -> Path:
    cc, flags = host_cc(), ["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", f"-I{HARNESS_DIR}"]
    api = (HARNESS_DIR / "qemu_plugin_api.h").read_bytes()  # the QEMU plugin API it shares with icount_plugin.c

    def build(folder: Path) -> None:
        run_tool([cc, *flags, "-o", folder / "libsteps.so", PLUGIN], "building the QEMU steps plugin")

    return cached_build("steps-plugin", digest(cc, *flags, PLUGIN.read_bytes(), api), build, "libsteps.so")


def function_addresses(elf: Path, names: set[str]) -> list[int]:
    """Entry addresses of the named functions and of GCC's clones of them (``name.constprop.0`` ...)."""
    found = set()
    with open(elf, "rb") as f:
        elffile = ELFFile(f)
        thumb = ~1 if elffile["e_machine"] == "EM_ARM" else ~0
        for section in elffile.iter_sections():
            if isinstance(section, SymbolTableSection):
                for sym in section.iter_symbols():
                    if sym["st_info"]["type"] == "STT_FUNC" and sym.name.split(".")[0] in names:
                        found.add(sym["st_value"] & thumb)
    return sorted(found)


def profile_layers(lib_dir: Path, name: str, board: Board, functions: list[str], input_bytes: int,
                   timeout: float = 120.0) -> Profile:
    """Run the library on ``board`` and split its inference at the calls of ``functions`` (one per layer,
    in call order)."""
    with tempfile.TemporaryDirectory(prefix="tinyc-profile-") as tmp:
        folder = Path(tmp)
        run = run_board(lib_dir, name, board, np.zeros((1, input_bytes), np.int8), timeout=timeout,
                        work_dir=folder)
        elf = folder / f"{name}-{board.id}-0.elf"
        marks = function_addresses(elf, set(functions))
        begin, end = (symbol_addresses(elf, list(MARKERS))[m] for m in MARKERS)
        trace = folder / "steps.txt"
        plugin = f"{steps_plugin()},begin={begin:#x},end={end:#x},out={trace}," + \
            f"marks={':'.join(f'{a:#x}' for a in marks)}"
        cmd = [*qemu_command(board, elf, folder / "semihost.txt"), "-plugin", plugin]
        try:
            subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ToolchainError(f"the per-layer run on {board.id} did not finish within {timeout:g} s") from exc
        lines = trace.read_text().split("\n") if trace.exists() else []
    ends = [int(line.split()[1]) for line in lines if line.startswith("end ")]
    calls = [int(line) for line in lines if line and not line.startswith("end")]
    if len(ends) != 1 or len(calls) != len(functions) or ends[0] != run.instructions_per_inference[0]:
        raise ToolchainError(f"the per-layer counter on {board.id} saw {len(calls)} kernel calls "
                             f"(expected {len(functions)}) and windows {ends} (whole inference: "
                             f"{run.instructions_per_inference})")
    bounds = [*calls, ends[0]]
    return Profile(run, [b - a for a, b in zip(bounds, bounds[1:], strict=False)], calls[0] if calls else 0)
