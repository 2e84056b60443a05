"""Instructions per token, flash and RAM of the generated stories260K decoder on emulated boards.

Same method as ANCHORS.md's llama2.c figures: greedy from BOS, QEMU, instructions counted exactly by
tinyc.targets' TCG plugin between two marker functions around each `<name>_forward`, `-O2 -ffp-contract=off`,
GCC 12.2, weights in flash, linked with the boards' real flash and RAM sizes on the shared firmware harness.
Boards: nucleo-l4r5zi (Cortex-M4F, mps2-an386), nucleo-h743zi (M7, mps2-an500), corstone-300 (M55 with
Helium, mps3-an547), nucleo-u575zi (M33, the RP2350's core, mps2-an505), esp32-c3 (rv32imc, riscv32 virt).
Every run's per-step logits hashes are checked against the reference runtime's (bit-identical).

f32 on corstone-300: its 1 MiB of weights do not fit the 512 KiB ITCM that boards/corstone-300.yaml calls
flash, so that row is a benchmark-only layout: code, constants and the vector table in the ITCM, the weights
in the AN547's 2 MiB SRAM at 0x01000000 (the board's test-data region); QEMU has no wait states, so the
placement does not change the instruction count.

    PYTHONPATH=. python benchmarks/llm/instructions.py [--out benchmarks/llm/instructions.md]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import load_board
from tinyc.errors import TinycError
from tinyc.llm import BOS, Decoder, QuantScheme, Sampler, generate, load_checkpoint, lower
from tinyc.llm.build import build_board, parse_stack, parse_trace, run_board
from tinyc.llm.codegen import write_c, write_main
from tinyc.llm.mathf import fnv1a_words
from tinyc.targets import image_size

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT.parent / "shared" / "models" / "llm" / "stories260K.bin"
BOARDS = {"nucleo-l4r5zi": "M4F", "nucleo-h743zi": "M7", "corstone-300": "M55", "nucleo-u575zi": "M33",
          "esp32-c3": "rv32imc"}
RP2350_MHZ, ALIF_M55_MHZ = 150, 400  # RP2350's Cortex-M33; Alif Ensemble's high-performance M55
MODES = {"f32": "f32 (run.c arithmetic)", "int8": "int8 g64, int8 KV"}
# llama2.c on the same emulators (ANCHORS.md): mean instructions per token over tokens 1..100; flash; RAM at
# seq_len 256.
LLAMA2C = {("f32", "nucleo-l4r5zi"): 2_161_005, ("f32", "nucleo-h743zi"): 2_035_174,
           ("int8", "nucleo-l4r5zi"): 2_299_942, ("int8", "nucleo-h743zi"): 2_065_991}
LLAMA2C_MEM = {"f32": ("float32 `run.c`", 1_068_416, 1_040_156, 342_524),
               "int8": ("int8 `runq.c` g64", 329_000, 299_008, 475_360)}


@dataclass
class Result:
    mode: str
    board: str
    counts: np.ndarray  # instructions of each step (position 0..steps-1)
    code: int  # flash: decoder code + non-weight constants + the libc/libgcc it pulls in
    weights: int
    harness_flash: int  # vector table, startup, main, printing
    ram_static: int  # .data + .bss (arena included), harness included
    stack: int  # measured peak below main
    arena: int
    kv_cache: int
    weights_outside: bool  # benchmark-only layout (weights outside the board's flash)

    @property
    def mean(self) -> float:
        return float(np.mean(self.counts[1:101]))

    @property
    def per_position(self) -> float:
        return float(np.polyfit(np.arange(len(self.counts)), self.counts, 1)[0])

    @property
    def clock_mhz(self) -> int:
        return load_board(self.board).clock_mhz


def reference_hashes(mode: str, steps: int, context: int) -> list[int]:
    plan = lower(load_checkpoint(MODEL), QuantScheme.named(mode), context=context, name="stories")
    hashes: list[int] = []
    generate(Decoder(plan).forward, [BOS], steps, Sampler(plan.config.vocab_size),
             on_logits=lambda pos, lg: hashes.append(fnv1a_words(lg)))
    return hashes


def measure(mode: str, board: str, steps: int, context: int, tmp: Path, want: list[int]) -> Result:
    plan = lower(load_checkpoint(MODEL), QuantScheme.named(mode), context=context, name="stories")
    src = tmp / f"{mode}_{board}"
    write_c(plan, src)
    write_main(plan, src, steps=steps, trace=1, has_tokenizer=False, host_port=False)
    outside = False
    try:
        elf = build_board(src, board)
    except TinycError as exc:
        if "of flash" not in str(exc):
            raise
        print(f"{mode} on {board}: {exc}; measuring with the weights outside the board's flash", flush=True)
        elf, outside = build_board(src, board, weights_region="TESTDATA"), True
    run = run_board(elf, board, count=True, timeout=900)
    hashes, tokens, _ = parse_trace(run.output)
    assert len(run.instructions) == len(tokens) == steps, (len(run.instructions), len(tokens))
    assert hashes == want, f"{mode} on {board}: logits differ from the reference runtime's"
    size = image_size(elf)
    mem = plan.memory_report()
    return Result(mode, board, np.array(run.instructions), size.flash_code, size.flash_weights,
                  size.harness_flash, size.ram_static + size.harness_ram, parse_stack(run.output),
                  plan.arena_bytes, mem["kv_cache_bytes"], outside)


def _perf_row(r: Result) -> str:
    label, core = MODES[r.mode], BOARDS[r.board]
    hz = r.clock_mhz * 1e6
    ref = LLAMA2C.get((r.mode, r.board))
    refs = f"{ref:,} ({hz / ref:.0f} tok/s) | {r.mean / ref:.2f}x" if ref else "- | -"
    star = " *" if r.weights_outside else ""
    return (f"| {label} | {r.board} ({core} @ {r.clock_mhz} MHz){star} | {r.mean:,.0f} | {r.counts[0]:,} "
            f"| {r.per_position:,.0f} | {hz / r.mean:,.1f} | {refs} |")


def _mem_row(r: Result) -> str:
    star = " *" if r.weights_outside else ""
    return (f"| {MODES[r.mode]} | {r.board} ({BOARDS[r.board]}){star} "
            f"| {r.code:,} + {r.weights:,} (+ {r.harness_flash:,}) | {r.arena:,} ({r.kv_cache:,}) "
            f"| {r.ram_static:,} | {r.stack:,} | {r.ram_static + r.stack:,} |")


NOTES = """
stories260K (dim 64, 5 layers, vocab 512), greedy from BOS, context {context}; instructions counted exactly by
QEMU (tinyc.targets' TCG plugin) around each `stories_forward`, logits bit-identical to the reference runtime
on every board; GCC 12.2 `-O2 -ffp-contract=off`, weights in flash, linked with the board's real flash and RAM
on tinyc.targets' firmware harness. Tokens/s = clock / instructions per token, i.e. one instruction per cycle
with zero-wait-state memory: optimistic on the M4F and M33 (loads, FP divide and flash wait states cost
more), possibly pessimistic on the M7 (dual issue); on the M55 QEMU counts an MVE instruction as one, while
the core executes it in two beats. Per position: the slope of a line fit over positions 0..100 (attention
grows with the context). RAM total = .data + .bss (the arena is all of it but ~110 bytes) + the measured
stack peak; flash "+ harness" is the vector table, startup and the trace main.

\\* corstone-300: f32's 1 MiB of weights do not fit the 512 KiB ITCM the board file calls flash; measured in a
benchmark-only layout with code in the ITCM and the weights in the AN547's 2 MiB SRAM at 0x01000000 (QEMU
has no wait states, so placement does not change the count). int8 fits the board as defined.

Published, for comparison (wall clock, not instruction counts): llama2.c float stories260K on a dual-core
ESP32-S3 @ 240 MHz with ESP-DSP, about 19 tokens/s (about 1 MB of RAM); stories260K on an RP2350 (one
Cortex-M33 @ 150 MHz, PSRAM), about 19 tokens/s.
"""


def _comparison(results: list[Result]) -> str:
    by = {(r.mode, r.board): r for r in results}
    lines = []
    for board, mhz, what in (("nucleo-u575zi", RP2350_MHZ, "the RP2350's core and clock (Cortex-M33"),
                             ("corstone-300", ALIF_M55_MHZ, "a Cortex-M55 at Alif Ensemble's clock (M55")):
        rows = [(m, by[(m, board)]) for m in MODES if (m, board) in by]
        if rows:
            tps = ", ".join(f"{m} {mhz * 1e6 / r.mean:,.0f}" for m, r in rows)
            lines.append(f"On {what} @ {mhz} MHz) the counts imply {tps} tokens/s.")
    return "\n".join(lines)


def tables(results: list[Result], context: int) -> str:
    perf = ["| build | board (core @ clock) | instr/token, tokens 1..100 (mean) | position 0 | per position "
            "| tokens/s at the board's clock | llama2.c instr/token (ANCHORS) | tinyc / llama2.c |",
            "|---|---|---:|---:|---:|---:|---:|---:|", *map(_perf_row, results)]
    mem = ["| build | board | flash: code + weights (+ harness) | RAM: arena (KV cache) | static RAM total "
           "| stack peak | RAM total |", "|---|---|---:|---:|---:|---:|---:|", *map(_mem_row, results)]
    for name, flash, weights, ram in LLAMA2C_MEM.values():
        mem.append(f"| llama2.c {name} (ANCHORS) | M4F | {flash - weights:,} + {weights:,} (whole image) "
                   f"| - | - | - | {ram:,} |")
    return ("\n".join(perf) + "\n\n" + "\n".join(mem) + "\n" + NOTES.format(context=context)
            + _comparison(results) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=101)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--boards", nargs="*", default=list(BOARDS))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for mode in MODES:
            want = reference_hashes(mode, args.steps, args.context)
            for board in args.boards:
                results.append(measure(mode, board, args.steps, args.context, Path(tmpdir), want))
                r = results[-1]
                print(f"{mode} {board}: {r.mean:,.0f} instr/token, stack {r.stack}", flush=True)
    text = tables(results, args.context)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
