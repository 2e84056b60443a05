"""The QEMU instruction counter is exact (an assembly loop of K iterations costs exactly 2K + b) and
repeatable, counting per block and per instruction alike, with the markers called or fallen into."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyc.boards import load_board
from tinyc.targets import run_board, run_qemu
from tinyc.targets.firmware import LIBC_SPECS, linker_script
from tinyc.targets.host import HARNESS_DIR
from tinyc.targets.toolchain import cross_gcc, run_tool

K = (1000, 1)  # loop iterations of the two windows of one run

# main runs window(K[0]) then window(K[1]). "call": window calls both markers, and the window is
# begin's return, one move, the 2K loop instructions and the call of end: 2K + 3.
# "inline": begin and end are labels inside window, reached mid-block (at different offsets into their
# blocks): 2K loop instructions + one nop.
ARM = """\
    .syntax unified
    .thumb
    .text
    .global main, tinyc_marker_begin, tinyc_marker_end
    .type main, %function
    .thumb_func
main:
    push {r4, lr}
    ldr r4, =K0
    bl window
    ldr r4, =K1
    bl window
    movs r0, #0
    pop {r4, pc}
    .type window, %function
    .thumb_func
window:
#ifdef INLINE
    mov r0, r4
    nop
    .type tinyc_marker_begin, %function
    .thumb_func
tinyc_marker_begin:
1:  subs r0, r0, #1
    bne 1b
    nop
    .type tinyc_marker_end, %function
    .thumb_func
tinyc_marker_end:
    bx lr
#else
    push {r4, lr}
    bl tinyc_marker_begin
    mov r0, r4
1:  subs r0, r0, #1
    bne 1b
    bl tinyc_marker_end
    pop {r4, pc}
    .type tinyc_marker_begin, %function
    .thumb_func
tinyc_marker_begin:
    bx lr
    .type tinyc_marker_end, %function
    .thumb_func
tinyc_marker_end:
    bx lr
#endif
"""
RISCV = """\
    .text
    .global main, tinyc_marker_begin, tinyc_marker_end
main:
    addi sp, sp, -16
    sw ra, 12(sp)
    sw s0, 8(sp)
    li s0, K0
    call window
    li s0, K1
    call window
    li a0, 0
    lw s0, 8(sp)
    lw ra, 12(sp)
    addi sp, sp, 16
    ret
window:
#ifdef INLINE
    mv a0, s0
    nop
tinyc_marker_begin:
1:  addi a0, a0, -1
    bnez a0, 1b
    nop
tinyc_marker_end:
    ret
#else
    addi sp, sp, -16
    sw ra, 12(sp)
    jal ra, tinyc_marker_begin
    mv a0, s0
1:  addi a0, a0, -1
    bnez a0, 1b
    jal ra, tinyc_marker_end
    lw ra, 12(sp)
    addi sp, sp, 16
    ret
tinyc_marker_begin:
    ret
tinyc_marker_end:
    ret
#endif
"""
EXPECTED = {"call": [2 * k + 3 for k in K], "inline": [2 * k + 1 for k in K]}
BOARDS = {  # one board per QEMU machine kind and ISA
    "nucleo-f103rb": ("arm-none-eabi-gcc", "qemu-system-arm"),  # Cortex-M3
    "rpi-pico": ("arm-none-eabi-gcc", "qemu-system-arm"),  # ARMv6-M code
    "nucleo-u575zi": ("arm-none-eabi-gcc", "qemu-system-arm"),  # Cortex-M33 at 0x10000000
    "corstone-300": ("arm-none-eabi-gcc", "qemu-system-arm"),  # Cortex-M55
    "esp32-c3": ("riscv64-unknown-elf-gcc", "qemu-system-riscv32"),
}


def needs(*tools: str):
    missing = [t for t in tools if shutil.which(t) is None]
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed")


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TINYC_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def build_loop(board_id: str, variant: str, folder: Path) -> Path:
    """An ELF: the harness startup and the assembly main above, linked for the board."""
    board = load_board(board_id)
    gcc = cross_gcc(board)
    main = folder / "main.S"
    main.write_text(RISCV if board.arch == "riscv" else ARM)
    (folder / "link.ld").write_text(linker_script(board))
    startup = HARNESS_DIR / ("startup_riscv.S" if board.arch == "riscv" else "startup_arm.S")
    defines = [f"-DK0={K[0]}", f"-DK1={K[1]}", *(["-DINLINE"] if variant == "inline" else [])]
    elf = folder / "loop.elf"
    flags = [*board.cflags, *LIBC_SPECS[board.arch], "-O2", *defines, f"-I{HARNESS_DIR}", "-nostartfiles"]
    sources = [startup, HARNESS_DIR / "harness_start.c", main]
    run_tool(
        [gcc, *flags, "-nostdlib", "-T", folder / "link.ld", *sources, "-o", elf], f"building for {board_id}"
    )
    return elf


@pytest.mark.parametrize("variant", ["call", "inline"])
@pytest.mark.parametrize("board_id", [pytest.param(b, marks=needs("cc", *t)) for b, t in BOARDS.items()])
def test_loop_count_is_exact_and_repeatable(board_id, variant, tmp_path):
    board = load_board(board_id)
    elf = build_loop(board_id, variant, tmp_path)
    runs = [run_qemu(board, elf, mode=mode) for mode in ("tb", "tb", "insn")]
    for run in runs:
        assert run.exit_code == 0, run.stderr
        assert run.instructions == EXPECTED[variant]


@needs("cc", "arm-none-eabi-gcc", "qemu-system-arm")
def test_model_counts_repeat_and_modes_agree(tmp_path):
    """A compiled C model: two runs count the same, per-block and per-instruction counting agree, and
    each extra loop iteration of the model costs the same number of instructions."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "loop.h").write_text(
        "#include <stdint.h>\n#define LOOP_INPUT_SIZE 1\n#define LOOP_OUTPUT_SIZE 1\n"
        "#define LOOP_ARENA_SIZE 0\nint loop_run(const int8_t *input, int8_t *output);\n"
    )
    (lib / "loop.c").write_text(
        '#include "loop.h"\nint loop_run(const int8_t *input, int8_t *output) {\n'
        "    volatile uint32_t acc = 0;\n    for (int i = 0; i < (uint8_t)input[0]; i++) acc += i;\n"
        "    output[0] = (int8_t)acc;\n    return 0;\n}\n"
    )
    inputs = np.array([[10], [11], [12], [100]], dtype=np.int8)
    first = run_board(lib, "loop", "nucleo-l4r5zi", inputs, work_dir=tmp_path / "build")
    second = run_board(lib, "loop", "nucleo-l4r5zi", inputs)
    counts = first.instructions_per_inference
    assert counts == second.instructions_per_inference
    per_iteration = counts[1] - counts[0]
    assert per_iteration > 0 and counts[2] - counts[1] == per_iteration
    assert counts[3] - counts[0] == 90 * per_iteration
    elf = tmp_path / "build" / "loop-nucleo-l4r5zi-0.elf"
    assert run_qemu(load_board("nucleo-l4r5zi"), elf, mode="insn").instructions == counts
