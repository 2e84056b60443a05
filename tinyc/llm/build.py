"""Build and run the generated decoder: on the host (gcc/clang), and on emulated boards through the project's
one firmware harness (tinyc.targets: startup, linker script with the board's real flash and RAM, QEMU,
exact instruction counter).

A board build is the library (`<name>.c`, counted as the model in flash/RAM figures) plus the generated
`main.c` and `tinyc/codegen/llm/port_harness.c` (counted as harness: `tinyc_port_write` over semihosting, the
two counter markers around each `<name>_forward`, stack painting), on tinyc.targets.build_program. The trace
main then ends with `S <hex bytes>`, the measured stack peak.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tinyc.boards import Board, load_board
from tinyc.errors import ToolchainError
from tinyc.targets import MARKERS, QemuRun, build_program, find_tool, run_qemu
from tinyc.targets.qemu import qemu_command
from tinyc.targets.toolchain import first_error, run_tool

PORT_HARNESS = Path(__file__).resolve().parents[1] / "codegen" / "llm" / "port_harness.c"
WARNINGS = ("-Wall", "-Wextra", "-Werror", "-pedantic")
HOST_CFLAGS = ("-std=c99", "-O2", *WARNINGS, "-ffp-contract=off")
BOARD_DEFINES = ("-DTINYC_MARKERS", "-DTINYC_STACK_REPORT")
MIN_STACK = 2048


def _library_sources(src: Path) -> list[Path]:
    return sorted(p for p in src.glob("*.c") if p.name not in ("main.c", "port_host.c"))


def board_for(target: str | Board, ram_kib: int | None = None) -> Board:
    """An emulated board by id (boards/*.yaml); `ram_kib` links it with another RAM size than the board's."""
    board = load_board(target) if isinstance(target, str) else target
    if not board.emulated:
        raise ToolchainError(f"board '{board.id}' cannot be run here: {board.status}")
    return dataclasses.replace(board, ram_kib=ram_kib) if ram_kib else board


# -- host ---------------------------------------------------------------------------------------------------
def build_host(src: str | Path, cc: str = "gcc", out: str | Path | None = None,
               extra: tuple[str, ...] = ()) -> Path:
    src = Path(src)
    exe = Path(out) if out else src / f"run_{cc}"
    cmd = [find_tool(cc), *HOST_CFLAGS, *extra, "-o", exe, *_library_sources(src), src / "main.c",
           src / "port_host.c", "-lm"]
    run_tool(cmd, f"building {src} on the host with {cc}", timeout=300)
    return exe


def run_host(exe: str | Path, timeout: float = 300) -> str:
    try:
        proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{exe} did not finish within {timeout:g} s") from None
    if proc.returncode:
        raise ToolchainError(f"{exe} exited with {proc.returncode}: {proc.stderr.strip()[:2000]}")
    return proc.stdout


# -- boards -------------------------------------------------------------------------------------------------
def build_board(src: str | Path, board: str | Board, *, ram_kib: int | None = None,
                min_stack: int = MIN_STACK, weights_region: str = "FLASH", out: str | Path | None = None,
                extra: tuple[str, ...] = ()) -> Path:
    """Cross-compile library + main on the shared harness into an ELF linked with the board's flash and RAM
    (`ram_kib` overrides the RAM). `weights_region="TESTDATA"` is tinyc.targets' benchmark-only layout that
    puts the weights in machine memory outside the board's flash."""
    src = Path(src)
    b = board_for(board, ram_kib)
    elf = Path(out) if out else src / f"fw_{b.id}" / "fw.elf"
    return build_program(b, _library_sources(src), elf, harness_sources=(src / "main.c", PORT_HARNESS),
                         includes=(src,), cflags=(*WARNINGS, *BOARD_DEFINES, *extra), min_stack=min_stack,
                         weights_region=weights_region)


def run_board(elf: str | Path, board: str | Board, *, count: bool = False, timeout: float = 600) -> QemuRun:
    """Run the ELF under QEMU; `count` counts the instructions of each `<name>_forward` (one per step)."""
    b = board_for(board)
    run = run_qemu(b, Path(elf), count_between=MARKERS if count else None, timeout=timeout)
    if run.exit_code:
        raise ToolchainError(f"{b.id}: the generated program exited with {run.exit_code}: "
                             f"{(run.output[-300:] + ' ' + first_error(run.stderr)).strip()}")
    return run


def stream_board(elf: str | Path, board: str | Board, timeout: float = 600) -> Iterator[str]:
    """The program's output lines as QEMU prints them (semihosting to stdout)."""
    b = board_for(board)
    yield from _stream(qemu_command(b, Path(elf), None), b.id, timeout)


def stream_host(exe: str | Path, timeout: float = 600) -> Iterator[str]:
    yield from _stream([str(exe)], "host", timeout)


def _stream(cmd: list[str], where: str, timeout: float) -> Iterator[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        yield from proc.stdout
        proc.stdout.close()
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:  # the consumer stopped early, or the wait timed out
            proc.kill()
            proc.wait()
    if code:
        err = proc.stderr.read()[-1000:]
        raise ToolchainError(f"{where}: the generated program exited with {code}: {err}")


# -- trace output -------------------------------------------------------------------------------------------
def parse_trace(text: str) -> tuple[list[int], list[int], list[list[int]]]:
    """-> (logits hash per step, next token per step, logits bits per step when traced with dumps)."""
    hashes, tokens, dumps = [], [], []
    for line in text.splitlines():
        if line.startswith("L "):
            hashes.append(int(line.split()[2], 16))
        elif line.startswith("T "):
            tokens.append(int(line.split()[1]))
        elif line.startswith("D "):
            dumps.append([int(w, 16) for w in line.split()[1:]])
    return hashes, tokens, dumps


def parse_stack(text: str) -> int:
    """The stack peak a board's trace main reports (`S <hex>`), in bytes."""
    for line in text.splitlines():
        if line.startswith("S "):
            return int(line.split()[1], 16)
    raise ToolchainError("the trace has no stack report (S line): not a board build with a trace main?")
