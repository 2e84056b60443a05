"""Generation on an emulated board with its cost: instructions per token, flash and RAM.

The method is ANCHORS.md's for llama2.c: QEMU counts the instructions of each `<name>_forward` exactly (the
TCG plugin between the harness's two markers), the mean is over tokens 1..100 (position 0 has no attention
history), flash and RAM come from the ELF linked with the board's real sizes, and the stack peak is measured
(painted stack). Token for token the run is the one `tinyc generate --target BOARD` streams.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.llm.build import board_for, build_board, parse_stack, parse_trace, run_board
from tinyc.llm.codegen import write_c, write_main
from tinyc.llm.model import BOS
from tinyc.llm.plan import LlmPlan
from tinyc.llm.tokenizer import Tokenizer
from tinyc.targets import image_size

MEAN_TOKENS = slice(1, 101)  # tokens 1..100, as ANCHORS.md averages llama2.c


@dataclass(frozen=True)
class BoardGeneration:
    tokens: list[int]  # every token after prompt[0], prompt tokens included, up to (not with) a BOS
    instructions: list[int]  # instructions of each forward pass, position 0 first
    flash_code: int  # decoder code + non-weight constants (+ the libc/libgcc it pulls in)
    flash_weights: int
    ram_static: int  # the decoder's .data + .bss (arena and KV cache included)
    stack_peak: int
    harness_flash: int  # startup, vector table, main and printing: not counted above
    harness_ram: int

    def report(self, plan: LlmPlan, board_id: str) -> dict:
        board = board_for(board_id)
        counts = np.array(self.instructions, dtype=np.int64)
        window = counts[MEAN_TOKENS]
        mem = plan.memory_report()
        return {
            "target": board.id, "core": board.core, "clock_mhz": board.clock_mhz,
            "quant": plan.scheme.tag, "context": plan.context, "tokens": len(self.tokens),
            "instructions_per_token": {
                "mean_tokens_1_100": float(window.mean()) if len(window) else None,
                "positions_averaged": [MEAN_TOKENS.start, MEAN_TOKENS.start + len(window) - 1] if len(window)
                else [],
                "position_0": int(counts[0]) if len(counts) else None,
                "mean_all": float(counts.mean()) if len(counts) else None,
                "per_position": [int(c) for c in counts],
            },
            "flash": {"code": self.flash_code, "weights": self.flash_weights,
                      "total": self.flash_code + self.flash_weights, "harness": self.harness_flash},
            "ram": {"arena": mem["arena_bytes"], "kv_cache": mem["kv_cache_bytes"], "static": self.ram_static,
                    "stack_peak": self.stack_peak, "total": self.ram_static + self.stack_peak,
                    "harness": self.harness_ram},
        }


def generate_on_board(plan: LlmPlan, tokenizer: Tokenizer | None, prompt: list[int], steps: int,
                      temperature: float, topp: float, seed: int, board_id: str,
                      workdir: str | Path | None = None) -> BoardGeneration:
    """Run generation on an emulated board, counting each forward pass."""
    board = board_for(board_id)
    with tempfile.TemporaryDirectory(prefix="tinyc_llm_") as tmp:
        src = Path(workdir) if workdir else Path(tmp)
        write_c(plan, src, tokenizer)
        write_main(plan, src, prompt=prompt, steps=steps, temperature=temperature, topp=topp, seed=seed,
                   trace=1, has_tokenizer=tokenizer is not None, host_port=False)
        elf = build_board(src, board)
        run = run_board(elf, board, count=True, timeout=900)
        size = image_size(elf)
    _, tokens, _ = parse_trace(run.output)
    if BOS in tokens:
        tokens = tokens[:tokens.index(BOS)]
    return BoardGeneration(tokens, list(run.instructions), size.flash_code, size.flash_weights, size.ram_static,
                           parse_stack(run.output), size.harness_flash, size.harness_ram)
