"""Build and run the generated decoder: on the host (gcc/clang) and on QEMU Cortex-M boards.

A deliberately small harness (`harness/`: vector table, semihosting, linker script with the board's sizes);
it will give way to the shared one in tinyc.targets.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinyc.errors import ToolchainError

HARNESS = Path(__file__).resolve().parent / "harness"
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off"]


@dataclass(frozen=True)
class Board:
    name: str
    machine: str
    cpu_flags: tuple[str, ...]
    flash: int
    ram: int


KIB = 1024
BOARDS = {
    # Cortex-M7 (STM32H7-class: 2 MiB flash); RAM is what the run may use, checked by the linker.
    "mps2-an500": Board("mps2-an500", "mps2-an500",
                        ("-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard"), 2048 * KIB, 4096 * KIB),
    "mps2-an385": Board("mps2-an385", "mps2-an385", ("-mcpu=cortex-m3",), 2048 * KIB, 4096 * KIB),
    "mps2-an386": Board("mps2-an386", "mps2-an386",
                        ("-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"), 2048 * KIB, 4096 * KIB),
}


def resolve_board(target: str) -> Board:
    """A QEMU machine name of the minimal harness, or a board id of tinyc.boards emulated by one of them."""
    if target in BOARDS:
        return BOARDS[target]
    from tinyc.boards import load_board

    b = load_board(target)
    if b.qemu is None or b.qemu.machine not in {m.machine for m in BOARDS.values()}:
        how = "is not emulated here" if b.qemu is None else f"runs on {b.qemu.machine}"
        raise ToolchainError(f"board '{target}' {how}; tinyc generate runs on mps2-an385/386/500 boards")
    flags = tuple(f for f in b.cflags if f != "-mthumb")
    return Board(b.id, b.qemu.machine, flags, b.flash_bytes, b.ram_bytes)


def _run(cmd: list[str], what: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    if shutil.which(cmd[0]) is None:
        raise ToolchainError(f"{cmd[0]} not found (needed to {what})")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{what}: {cmd[0]} timed out after {timeout:.0f} s") from None
    return proc


def _sources(src: Path) -> list[str]:
    return sorted(str(p) for p in src.glob("*.c") if p.name != "port_host.c")


def build_host(src: str | Path, cc: str = "gcc", out: str | Path | None = None,
               extra: tuple[str, ...] = ()) -> Path:
    src = Path(src)
    exe = Path(out) if out else src / f"run_{cc}"
    cmd = [cc, *CFLAGS, *extra, "-o", str(exe), *_sources(src), str(src / "port_host.c"), "-lm"]
    proc = _run(cmd, "build the decoder for the host")
    if proc.returncode:
        raise ToolchainError(f"{cc} failed on {src}:\n{proc.stderr.strip()[:4000]}")
    return exe


def run_host(exe: str | Path, timeout: float = 300) -> str:
    proc = _run([str(exe)], "run the host build", timeout=timeout)
    if proc.returncode:
        raise ToolchainError(f"{exe} exited with {proc.returncode}: {proc.stderr.strip()[:2000]}")
    return proc.stdout


def build_board(src: str | Path, board: str = "mps2-an500", ram: int | None = None, stack: int = 4 * KIB,
                out: str | Path | None = None, extra: tuple[str, ...] = ()) -> Path:
    """Cross-compile library + main + harness into an ELF linked with the board's flash and `ram` bytes."""
    src = Path(src)
    b = resolve_board(board)
    elf = Path(out) if out else src / f"fw_{b.name}.elf"
    cmd = ["arm-none-eabi-gcc", *b.cpu_flags, "-mthumb", *CFLAGS, *extra, "-I", str(src),
           "-ffunction-sections", "-fdata-sections", "-nostartfiles", "--specs=nano.specs",
           "--specs=nosys.specs",
           "-T", str(HARNESS / "link_cm.ld"), f"-Wl,--defsym=FLASH_SIZE={b.flash}",
           f"-Wl,--defsym=RAM_SIZE={ram or b.ram}", f"-Wl,--defsym=STACK_SIZE={stack}", "-Wl,--gc-sections",
           "-o", str(elf), *_sources(src), str(HARNESS / "startup_cm.c"), "-lm"]
    proc = _run(cmd, f"build the decoder for {board}")
    if proc.returncode:
        fit = [ln.split(": ")[-1] for ln in proc.stderr.splitlines() if "does not fit" in ln]
        if fit:
            raise ToolchainError(f"{board}: {fit[0]} (flash {b.flash} bytes, RAM {ram or b.ram} bytes)")
        raise ToolchainError(f"arm-none-eabi-gcc failed for {board}:\n{proc.stderr.strip()[:4000]}")
    return elf


def qemu_command(elf: str | Path, board: str = "mps2-an500", plugin: list[str] | None = None) -> list[str]:
    b = resolve_board(board)
    return ["qemu-system-arm", "-M", b.machine, "-display", "none", "-serial", "null", "-monitor", "none",
            "-chardev", "stdio,id=sh0", "-semihosting-config", "enable=on,target=native,chardev=sh0",
            *(["-plugin", ",".join(plugin)] if plugin else []), "-kernel", str(elf)]


def run_board(elf: str | Path, board: str = "mps2-an500", timeout: float = 600,
              plugin: list[str] | None = None) -> str:
    cmd = qemu_command(elf, board, plugin)
    proc = _run(cmd, f"run on {board}", timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode:
        raise ToolchainError(f"{board}: firmware exited with {proc.returncode}: "
                             f"{(proc.stdout[-500:] + proc.stderr[-1500:]).strip()}")
    return proc.stdout


def elf_sizes(elf: str | Path) -> dict[str, int]:
    """Section sizes of a harness ELF: weights, code + constants (flash), data + bss (static RAM)."""
    proc = _run(["arm-none-eabi-size", "-A", str(elf)], "read the ELF's sections")
    sec: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sec[parts[0]] = int(parts[1])
    flash = sum(sec.get(s, 0) for s in (".isr_vector", ".text", ".tinyc_weights", ".rodata", ".ARM.exidx",
                                         ".data"))
    return {"weights": sec.get(".tinyc_weights", 0), "flash": flash,
            "static_ram": sec.get(".data", 0) + sec.get(".bss", 0), "stack": sec.get(".stack", 0)}


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
