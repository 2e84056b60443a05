"""Instructions per token, flash and RAM of the generated stories260K decoder on emulated Cortex-M4F / M7.

Same method as ANCHORS.md's llama2.c figures: greedy from BOS, QEMU (nucleo-l4r5zi on mps2-an386 = M4F,
nucleo-h743zi on mps2-an500 = M7), instructions counted exactly by tinyc.targets' TCG plugin between two
marker functions around each `<name>_forward`, `-O2 -ffp-contract=off`, GCC 12.2, weights in flash, linked
with the boards' real flash and RAM sizes.

    PYTHONPATH=. python benchmarks/llm/instructions.py [--out benchmarks/llm/instructions.md]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from tinyc.boards import load_board
from tinyc.llm import QuantScheme, load_checkpoint, lower
from tinyc.llm.build import build_board, elf_sizes, parse_trace
from tinyc.llm.codegen import write_c, write_main
from tinyc.targets.qemu import run_qemu

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT.parent / "shared" / "models" / "llm" / "stories260K.bin"
# llama2.c on the same emulators (ANCHORS.md): mean instructions per token over tokens 1..100.
LLAMA2C = {("f32", "nucleo-l4r5zi"): 2_161_005, ("f32", "nucleo-h743zi"): 2_035_174,
           ("int8", "nucleo-l4r5zi"): 2_299_942, ("int8", "nucleo-h743zi"): 2_065_991}
CORE = {"nucleo-l4r5zi": "M4F", "nucleo-h743zi": "M7"}


def measure(mode: str, board: str, steps: int, context: int, tmp: Path) -> dict:
    plan = lower(load_checkpoint(MODEL), QuantScheme.named(mode), context=context, name="stories")
    src = tmp / f"{mode}_{board}"
    write_c(plan, src)
    write_main(plan, src, steps=steps, trace=1, has_tokenizer=False, host_port=False)
    elf = build_board(src, board, extra=("-DTINYC_MARKERS",))
    run = run_qemu(load_board(board), elf, timeout=300)
    assert run.exit_code == 0, run.stderr
    counts = np.array(run.instructions)
    _, tokens, _ = parse_trace(run.output)
    sizes = elf_sizes(elf)
    return {"mode": mode, "board": board, "counts": counts, "tokens": tokens, **sizes,
            "arena": plan.arena_bytes, "context": context}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=101)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = ["| build | board (core) | instr/token, tokens 1..100 (mean) | vs llama2.c | position 0 "
            "| per position | flash: weights / total bytes | static RAM + 4 KiB stack (context 256) |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for mode in ("f32", "int8"):
            for board in ("nucleo-l4r5zi", "nucleo-h743zi"):
                r = measure(mode, board, args.steps, args.context, tmp)
                c = r["counts"]
                mean = float(np.mean(c[1:101]))
                slope = float(np.polyfit(np.arange(len(c)), c, 1)[0])
                ref = LLAMA2C[(mode, board)]
                label = "f32 (run.c arithmetic)" if mode == "f32" else "int8 g64, int8 KV"
                rows.append(f"| {label} | {board} ({CORE[board]}) | {mean:,.0f} "
                            f"| {mean / ref:.2f}x ({ref:,}) | {c[0]:,} | {slope:,.0f} "
                            f"| {r['weights']:,} / {r['flash']:,} "
                            f"| {r['static_ram'] + r['stack']:,} |")
                print(rows[-1], flush=True)
    text = "\n".join(rows) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
