"""Run a firmware ELF under QEMU with semihosting, optionally counting instructions between two symbols.

The counter is a TCG plugin (``firmware/harness/icount_plugin.c``) built with the host compiler into
``cache_dir()/plugin``. Semihosting output goes to a file (a QEMU chardev), never mixed with QEMU's own
messages. Every run has a timeout: a program that hangs (or an ``ebreak`` without semihosting) is killed.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinyc.boards import Board
from tinyc.errors import ToolchainError
from tinyc.targets.elfsize import symbol_addresses
from tinyc.targets.library import HARNESS_DIR
from tinyc.targets.toolchain import cached_build, digest, find_tool, host_cc, run_tool

MARKERS = ("tinyc_marker_begin", "tinyc_marker_end")
COUNT_MODES = ("tb", "insn")


@dataclass(frozen=True)
class QemuRun:
    exit_code: int  # the program's semihosting exit code (or QEMU's own on a QEMU error)
    output: str  # everything the program wrote over semihosting
    stderr: str  # QEMU's messages
    instructions: list[int]  # instructions executed in each begin..end window, in order


def icount_plugin() -> Path:
    """The instruction-counting plugin, built on first use."""
    source = HARNESS_DIR / "icount_plugin.c"
    cc = host_cc()
    flags = ["-shared", "-fPIC", "-O2", "-Wall", "-Wextra"]

    def build(folder: Path) -> None:
        run_tool([cc, *flags, "-o", folder / "libicount.so", source], "building the QEMU icount plugin")

    api = (HARNESS_DIR / "qemu_plugin_api.h").read_bytes()
    return cached_build("plugin", digest(cc, *flags, source.read_bytes(), api), build, "libicount.so")


def _opt(value: str | Path) -> str:
    """A value inside a QEMU -option list (commas doubled)."""
    return str(value).replace(",", ",,")


def qemu_command(board: Board, elf: Path, semihost_log: Path | None) -> list[str]:
    """The QEMU command line that runs ``elf`` on ``board``'s machine, semihosting output to a file, or
    with ``semihost_log=None`` to QEMU's stdout (to stream it; QEMU's own messages stay on stderr)."""
    if board.qemu is None:
        raise ToolchainError(f"{board.id} is not emulated here ({board.status})")
    cmd = [find_tool(board.qemu.system), "-M", board.qemu.machine]
    if board.arch == "riscv":
        cmd += ["-bios", "none"]
    chardev = "stdio,id=semihost" if semihost_log is None else f"file,id=semihost,path={_opt(semihost_log)}"
    return cmd + [
        "-display", "none", "-serial", "null", "-monitor", "none",
        "-chardev", chardev,
        "-semihosting-config", "enable=on,target=native,chardev=semihost",
        "-kernel", str(elf),
    ]  # fmt: skip


def run_qemu(
    board: Board,
    elf: Path,
    *,
    count_between: tuple[str, str] | None = MARKERS,
    mode: str = "tb",
    timeout: float = 60.0,
) -> QemuRun:
    """Run ``elf`` on ``board``; with ``count_between``, count instructions from each entry to the first
    symbol to the next entry to the second (``mode``: "tb" per block, "insn" per instruction)."""
    if mode not in COUNT_MODES:
        raise ValueError(f"mode must be one of {COUNT_MODES}")
    elf = Path(elf)
    semihost_log, counts_file = elf.with_suffix(".semihost.txt"), elf.with_suffix(".icount.txt")
    semihost_log.unlink(missing_ok=True)
    counts_file.unlink(missing_ok=True)
    cmd = qemu_command(board, elf, semihost_log)
    if count_between is not None:
        addresses = symbol_addresses(elf, list(count_between))
        begin, end = (addresses[name] for name in count_between)
        cmd += [
            "-plugin",
            f"{_opt(icount_plugin())},begin={begin:#x},end={end:#x},out={_opt(counts_file)},mode={mode}",
        ]
    try:
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(
            f"{elf.name} on {board.id} ({board.qemu.machine}) did not finish within {timeout:g} s"
        ) from exc
    output = semihost_log.read_text(errors="replace") if semihost_log.exists() else ""
    counts = counts_file.read_text().split() if counts_file.exists() else []
    return QemuRun(result.returncode, output, result.stderr, [int(c) for c in counts])
