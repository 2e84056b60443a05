"""The generation loop of llama2.c's run.c, over any `forward(token, pos) -> logits` (reference or C)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from tinyc.errors import InputError
from tinyc.llm.model import BOS
from tinyc.llm.sampler import Sampler

Forward = Callable[[int, int], np.ndarray]


def iter_generate(forward: Forward, prompt: list[int], steps: int, sampler: Sampler,
                  on_logits: Callable[[int, np.ndarray], None] | None = None) -> Iterator[int]:
    """Run `steps` positions from prompt[0]; prompt tokens are forced, then sampled. Stops at BOS.

    Yields each next token as it is chosen (the remaining prompt tokens first). `on_logits(pos, logits)`
    sees each step's logits before sampling.
    """
    if not prompt:
        raise InputError("empty prompt: start from [BOS]")
    token, pos = prompt[0], 0
    while pos < steps:
        logits = forward(token, pos)
        if on_logits is not None:
            on_logits(pos, logits)
        nxt = prompt[pos + 1] if pos < len(prompt) - 1 else sampler.sample(logits)
        pos += 1
        if nxt == BOS:
            return
        yield nxt
        token = nxt


def generate(forward: Forward, prompt: list[int], steps: int, sampler: Sampler,
             on_logits: Callable[[int, np.ndarray], None] | None = None) -> list[int]:
    """The whole sequence: prompt[0], then one token per step (prompt tokens forced), stopping at BOS."""
    tokens = list(iter_generate(forward, prompt, steps, sampler, on_logits))  # raises on an empty prompt
    return [prompt[0], *tokens]
