"""Run a generated model library on an emulated board: outputs, instructions per inference, flash, RAM."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import Board, load_board
from tinyc.errors import TinycError, ToolchainError
from tinyc.targets.elfsize import WEIGHT_SECTIONS, image_size
from tinyc.targets.firmware import MIN_STACK, batch_capacity, compile_firmware, link_firmware
from tinyc.targets.host import as_batch, model_sizes
from tinyc.targets.library import open_library
from tinyc.targets.qemu import MARKERS, QemuRun, run_qemu
from tinyc.targets.toolchain import first_error


@dataclass(frozen=True)
class BoardRun:
    board: Board
    outputs: np.ndarray  # [N, output elements]
    instructions_per_inference: list[int]  # empty when not counted
    stack_peak: int  # bytes of stack one inference used at most (below the caller's frame)
    flash_code: int  # the model's code and non-weight constants (with the libc/libgcc it pulls in)
    flash_weights: int
    ram_static: int  # the model's .data + .bss, arena included
    harness_flash: int  # the test harness, not counted above
    harness_ram: int
    qemu_runs: int  # inputs are linked into the image; a batch too big for one image takes several runs

    @property
    def flash(self) -> int:
        return self.flash_code + self.flash_weights

    @property
    def ram_peak(self) -> int:
        return self.ram_static + self.stack_peak


def run_board(
    lib_dir: Path,
    name: str,
    board: Board | str,
    inputs: np.ndarray,
    *,
    opt: str = "-O2",
    cflags: Sequence[str] = (),
    count_instructions: bool = True,
    timeout: float = 60.0,
    work_dir: Path | None = None,
    min_stack: int = MIN_STACK,
    weight_sections: Sequence[str] = WEIGHT_SECTIONS,
    output_dtype: np.dtype | type = np.int8,
) -> BoardRun:
    """Build the library in ``lib_dir`` (model ``name``) for ``board``, run it under QEMU on every row of
    ``inputs`` ([N, input elements], usually int8) and measure it.

    ``work_dir`` keeps the build (objects, linker script, ELF and map per QEMU run); by default it is a
    temporary folder. ``timeout`` applies to each QEMU run.
    """
    board = load_board(board) if isinstance(board, str) else board
    if not board.emulated:
        raise TinycError(f"{board.id} cannot be run: {board.status}")
    lib = open_library(lib_dir, name)
    sizes = model_sizes(lib_dir, name)
    batch = as_batch(inputs, sizes, name)
    capacity = batch_capacity(board, sizes.input)
    outputs: list[np.ndarray] = []
    counts: list[int] = []
    stack_peak = 0
    with tempfile.TemporaryDirectory(prefix="tinyc-board-") as tmp:
        folder = Path(work_dir) if work_dir is not None else Path(tmp)
        fw = compile_firmware(
            lib, board, folder, opt=opt, cflags=cflags, min_stack=min_stack, weight_sections=weight_sections
        )
        starts = range(0, len(batch), capacity)
        for run_index, first in enumerate(starts):
            chunk = batch[first : first + capacity]
            elf = link_firmware(fw, chunk, folder / f"{name}-{board.id}-{run_index}.elf")
            if run_index == 0:
                size = image_size(elf)
            run = run_qemu(board, elf, count_between=MARKERS if count_instructions else None, timeout=timeout)
            chunk_outputs, chunk_stack = _parse(run, board, name, first, len(chunk), sizes.output)
            if count_instructions and len(run.instructions) != len(chunk):
                raise ToolchainError(
                    f"the instruction counter saw {len(run.instructions)} inferences on {board.id}, "
                    f"expected {len(chunk)}"
                )
            outputs.append(chunk_outputs)
            counts += run.instructions
            stack_peak = max(stack_peak, chunk_stack)
    return BoardRun(
        board=board,
        outputs=np.concatenate(outputs).view(output_dtype),
        instructions_per_inference=counts,
        stack_peak=stack_peak,
        flash_code=size.flash_code,
        flash_weights=size.flash_weights,
        ram_static=size.ram_static,
        harness_flash=size.harness_flash,
        harness_ram=size.harness_ram,
        qemu_runs=len(starts),
    )


def _parse(
    run: QemuRun, board: Board, name: str, first: int, count: int, output_size: int
) -> tuple[np.ndarray, int]:
    """Outputs and stack peak from the harness's report (see firmware/harness_main.c)."""
    outputs = np.zeros((count, output_size), dtype=np.int8)
    seen = 0
    stack: int | None = None
    for line in run.output.splitlines():
        tag, *fields = line.split()
        number = int(fields[0], 16) if fields else -1
        if tag == "OUT":
            data = bytes.fromhex(fields[1]) if len(fields) > 1 else b""
            if number != seen or len(data) != output_size:
                raise ToolchainError(f"garbled output from {board.id} at input {first + seen}: {line[:80]}")
            outputs[seen] = np.frombuffer(data, dtype=np.int8)
            seen += 1
        elif tag == "STACK":
            stack = number
        elif tag == "ERR":
            rc = int(fields[1], 16)
            rc = rc - (1 << 32) if rc >= 1 << 31 else rc  # printed as uint32
            raise TinycError(f"{name}_run returned {rc} on input {first + number} on {board.id}")
        elif tag == "STACK_OVERFLOW":
            raise TinycError(
                f"the stack overflowed on {board.id} at input {first + number}: the model needs more RAM "
                f"than {board.id}'s {board.ram_kib} KiB"
            )
        elif tag == "FAULT":
            what = "exception" if board.arch == "arm" else "mcause"
            raise TinycError(f"{name} crashed on {board.id} ({what} {number:#x}) at input {first + seen}")
    if run.exit_code != 0 or seen != count or stack is None:
        raise ToolchainError(
            f"{board.qemu.system} exited with {run.exit_code} after {seen} of {count} outputs on {board.id}: "
            f"{first_error(run.stderr)}"
        )
    return outputs, stack
