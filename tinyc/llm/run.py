"""Generation on any target: the reference runtime, the generated C on the host, or an emulated board.

Every target yields the same tokens for the same plan, prompt and sampler settings (the C and the reference
are bit-identical); the C targets stream the tokens their trace main prints. A board is any emulated board of
boards/*.yaml (tinyc.targets' harness and QEMU).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from tinyc.llm.build import board_for, build_board, build_host, stream_board, stream_host
from tinyc.llm.codegen import write_c, write_main
from tinyc.llm.generate import iter_generate
from tinyc.llm.model import BOS
from tinyc.llm.plan import LlmPlan
from tinyc.llm.runtime import Decoder
from tinyc.llm.sampler import Sampler
from tinyc.llm.tokenizer import Tokenizer


def stream_tokens(plan: LlmPlan, tokenizer: Tokenizer | None, prompt: list[int], steps: int,
                  temperature: float = 0.0, topp: float = 0.9, seed: int = 1, target: str = "ref",
                  workdir: str | Path | None = None) -> Iterator[int]:
    """Yield each token after prompt[0], as the target produces it (prompt tokens included, stops at BOS)."""
    sampler = Sampler(plan.config.vocab_size, temperature, topp, seed)  # validates the settings
    if target == "ref":
        yield from iter_generate(Decoder(plan).forward, prompt, steps, sampler)
        return
    with tempfile.TemporaryDirectory(prefix="tinyc_llm_") as tmp:
        src = Path(workdir) if workdir else Path(tmp)
        write_c(plan, src, tokenizer)
        write_main(plan, src, prompt=prompt, steps=steps, temperature=temperature, topp=topp, seed=seed,
                   trace=1, has_tokenizer=tokenizer is not None, host_port=target == "host")
        if target == "host":
            lines = stream_host(build_host(src))
        else:
            board = board_for(target)
            lines = stream_board(build_board(src, board), board)
        for line in lines:
            if line.startswith("T "):
                tok = int(line.split()[1])
                if tok == BOS:
                    break
                yield tok
