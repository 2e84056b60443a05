"""Build the firmware that runs a generated model library on an emulated board.

The library and the harness (``firmware/``) are compiled once per board; each batch of inputs is then
assembled (``.incbin`` of the raw bytes, into the machine memory outside the board's flash) and linked
with a linker script made from the board's real flash and RAM sizes, so a model that does not fit the
board fails to link with a message saying by how much.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

import numpy as np

from tinyc.boards import Board
from tinyc.errors import TinycError, ToolchainError
from tinyc.targets.elfsize import WEIGHT_SECTIONS
from tinyc.targets.fit import fit_problems
from tinyc.targets.library import HARNESS_DIR, ModelLibrary
from tinyc.targets.toolchain import ToolFailed, cross_gcc, run_tool

FIRMWARE_CFLAGS = (
    "-std=c99",
    "-ffp-contract=off",
    "-ffunction-sections",
    "-fdata-sections",
    "-Wall",
    "-Wextra",
)
HARNESS_SOURCES = ("harness_main.c", "harness_start.c")
STARTUP = {"arm": "startup_arm.S", "riscv": "startup_riscv.S"}
ENTRY = {"arm": "Reset_Handler", "riscv": "_start"}
LIBC_SPECS = {"arm": ("--specs=nano.specs",), "riscv": ("--specs=picolibc.specs",)}
INPUT_ALIGN = 8  # each input starts on an 8-byte boundary
MIN_STACK = 1024  # bytes of RAM that must be left for the stack for the link to succeed
WEIGHT_REGIONS = ("FLASH", "TESTDATA")


@dataclass(frozen=True)
class FirmwareObjects:
    """The compiled library and harness for one board, ready to link with any batch of inputs."""

    board: Board
    gcc: str
    folder: Path
    objects: tuple[Path, ...]
    link_script: Path
    flags: tuple[str, ...]
    min_stack: int


def input_stride(input_size: int) -> int:
    return -(-input_size // INPUT_ALIGN) * INPUT_ALIGN


def batch_capacity(board: Board, input_size: int) -> int:
    """How many inputs one firmware image can carry."""
    assert board.qemu is not None
    return max(1, board.qemu.data_kib * 1024 // input_stride(input_size))


def linker_script(
    board: Board,
    *,
    min_stack: int = MIN_STACK,
    weight_sections: Sequence[str] = WEIGHT_SECTIONS,
    weights_region: str = "FLASH",
) -> str:
    """The board's linker script. ``weights_region="TESTDATA"`` is a benchmark-only layout: the weights go
    to the machine memory outside the board (``qemu.data_origin``), so they do not count against its flash."""
    qemu = board.qemu
    if qemu is None:
        raise ToolchainError(f"{board.id} is not emulated here ({board.status})")
    if weights_region not in WEIGHT_REGIONS:
        raise ValueError(f"weights_region must be one of {WEIGHT_REGIONS}")
    template = Template((HARNESS_DIR / "link.ld.in").read_text())
    return template.substitute(
        board_file=board.path.name,
        machine=qemu.machine,
        entry=ENTRY[board.arch],
        flash_origin=f"{qemu.flash_origin:#010x}",
        flash_size=f"{board.flash_bytes:#x}",
        ram_origin=f"{qemu.ram_origin:#010x}",
        ram_size=f"{board.ram_bytes:#x}",
        data_origin=f"{qemu.data_origin:#010x}",
        data_size=f"{qemu.data_kib * 1024:#x}",
        min_stack=min_stack,
        weight_patterns=f"*({' '.join(weight_sections)})",
        weights_region=weights_region,
    )


def compile_firmware(
    lib: ModelLibrary,
    board: Board,
    folder: Path,
    *,
    opt: str = "-O2",
    cflags: Sequence[str] = (),
    min_stack: int = MIN_STACK,
    weight_sections: Sequence[str] = WEIGHT_SECTIONS,
) -> FirmwareObjects:
    """Compile the library and the harness for ``board`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "link.ld"
    script.write_text(linker_script(board, min_stack=min_stack, weight_sections=weight_sections))
    (folder / "model_glue.h").write_text(lib.glue_header())
    gcc = cross_gcc(board)
    flags = (*board.cflags, opt, *FIRMWARE_CFLAGS, *LIBC_SPECS[board.arch], *cflags)
    includes = (f"-I{folder}", f"-I{lib.lib_dir}", f"-I{HARNESS_DIR}")
    # harness objects are named tinyc_harness_* so the linker script can set them apart
    units = [(src, folder / f"model_{src.stem}.o") for src in lib.sources]
    harness = (*HARNESS_SOURCES, STARTUP[board.arch])
    units += [(HARNESS_DIR / s, folder / f"tinyc_harness_{Path(s).stem}.o") for s in harness]
    for src, obj in units:
        what = f"compiling {src.name} for {board.id}"
        run_tool([gcc, *flags, *includes, "-c", src, "-o", obj], what, timeout=300)
    return FirmwareObjects(board, gcc, folder, tuple(obj for _, obj in units), script, flags, min_stack)


def inputs_assembly(count: int, stride: int, blob: Path) -> str:
    """Assembly defining tinyc_inputs (the raw bytes of ``blob``), tinyc_num_inputs and tinyc_input_stride."""
    return (
        '    .section .tinyc_inputs, "a"\n'
        f"    .balign {INPUT_ALIGN}\n"
        "    .global tinyc_num_inputs, tinyc_input_stride, tinyc_inputs\n"
        f"tinyc_num_inputs: .4byte {count}\n"
        f"tinyc_input_stride: .4byte {stride}\n"
        f"    .balign {INPUT_ALIGN}\n"
        f'tinyc_inputs: .incbin "{blob}"\n'
    )


def link_firmware(fw: FirmwareObjects, inputs: np.ndarray, elf: Path) -> Path:
    """Link ``fw`` with the int8 [N, input bytes] ``inputs`` into ``elf`` (its map file next to it)."""
    count, size = inputs.shape
    stride = input_stride(size)
    padded = np.zeros((count, stride), dtype=np.int8)
    padded[:, :size] = inputs
    blob = elf.with_suffix(".inputs.bin")
    blob.write_bytes(padded.tobytes())
    asm = elf.with_suffix(".inputs.S")
    asm.write_text(inputs_assembly(count, stride, blob))
    inputs_obj = elf.with_suffix(".inputs.o")
    run_tool([fw.gcc, *fw.board.cflags, "-c", asm, "-o", inputs_obj], f"assembling inputs for {fw.board.id}")
    cmd = [
        fw.gcc,
        *fw.flags,
        "-nostartfiles",
        "-Wl,--gc-sections",
        f"-Wl,-Map={elf.with_suffix('.map')}",
        "-T",
        fw.link_script,
        *fw.objects,
        inputs_obj,
        "-lm",
        "-o",
        elf,
    ]
    _link(cmd, fw.board, fw.min_stack)
    return elf


def _link(cmd: Sequence[str | Path], board: Board, min_stack: int) -> None:
    try:
        run_tool(cmd, f"linking for {board.id}", timeout=300)
    except ToolFailed as exc:
        overflow = _overflow_message(board, min_stack, exc.log)
        if overflow:
            raise TinycError(overflow) from exc
        raise


def _overflow_message(board: Board, min_stack: int, log: str) -> str | None:
    """The fit message for a link that overflowed the board's FLASH or RAM, if that is what happened."""
    over = {region: int(n) for region, n in re.findall(r"region [`']?(\w+)'? overflowed by (\d+) bytes", log)}
    if not over:
        return None
    problems = fit_problems(
        board, board.flash_bytes + over.get("FLASH", 0), board.ram_bytes + over.get("RAM", 0)
    )
    problems = problems or [f"region {', '.join(over)} overflowed"]
    return f"{'; '.join(problems)} (with the test harness and a {min_stack}-byte minimum stack)"


def build_program(
    board: Board,
    sources: Sequence[Path],
    elf: Path,
    *,
    harness_sources: Sequence[Path] = (),
    includes: Sequence[Path] = (),
    opt: str = "-O2",
    cflags: Sequence[str] = (),
    min_stack: int = MIN_STACK,
    weights_region: str = "FLASH",
) -> Path:
    """Build a program that brings its own ``main`` (no linked-in test inputs) on the harness's startup
    (``harness_start.c``: ``tinyc_puts``, ``tinyc_exit``; exit code = main's return) into ``elf``.

    ``sources`` count as the model in :func:`~tinyc.targets.image_size`, ``harness_sources`` (the program's
    main, printing) as harness. Objects, linker script and map go next to ``elf``.
    """
    folder = elf.parent
    folder.mkdir(parents=True, exist_ok=True)
    script = elf.with_suffix(".ld")
    script.write_text(linker_script(board, min_stack=min_stack, weights_region=weights_region))
    gcc = cross_gcc(board)
    flags = (*board.cflags, opt, *FIRMWARE_CFLAGS, *LIBC_SPECS[board.arch], *cflags)
    inc = tuple(f"-I{d}" for d in (*includes, HARNESS_DIR))
    harness = [HARNESS_DIR / "harness_start.c", HARNESS_DIR / STARTUP[board.arch], *harness_sources]
    units = [(Path(s), folder / f"{elf.stem}_{Path(s).stem}.o") for s in sources]
    units += [(Path(s), folder / f"tinyc_harness_{elf.stem}_{Path(s).stem}.o") for s in harness]
    for src, obj in units:
        run_tool(
            [gcc, *flags, *inc, "-c", src, "-o", obj], f"compiling {src.name} for {board.id}", timeout=300
        )
    cmd = [gcc, *flags, "-nostartfiles", "-Wl,--gc-sections", f"-Wl,-Map={elf.with_suffix('.map')}",
           "-T", script, *(obj for _, obj in units), "-lm", "-o", elf]  # fmt: skip
    _link(cmd, board, min_stack)
    return elf
