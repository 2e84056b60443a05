"""Next-token choice exactly as the generated C makes it: greedy argmax, or llama2.c's seeded
temperature + top-p sampling (xorshift64* generator) with a deterministic sort (probability descending,
then token id ascending: the order glibc's stable qsort gives llama2.c)."""

from __future__ import annotations

import math

import numpy as np

from tinyc.errors import InputError
from tinyc.llm.mathf import softmax

F = np.float32
MASK64 = (1 << 64) - 1


class Sampler:
    def __init__(self, vocab_size: int, temperature: float = 0.0, topp: float = 0.9, seed: int = 1):
        if not (math.isfinite(temperature) and temperature >= 0):
            raise InputError(f"temperature {temperature} is not a finite number >= 0")
        if not math.isfinite(topp):
            raise InputError(f"top-p {topp} is not a finite number")
        if temperature > 0 and not 0 < seed <= MASK64:
            raise InputError(f"seed {seed} must be in 1..2**64-1 (the xorshift state cannot be 0)")
        self.vocab_size = vocab_size
        self.temperature = F(temperature)
        self.topp = F(topp)
        self.state = int(seed) & MASK64

    def random_u32(self) -> int:
        s = self.state
        s ^= s >> 12
        s ^= (s << 25) & MASK64
        s ^= s >> 27
        self.state = s
        return ((s * 0x2545F4914F6CDD1D) & MASK64) >> 32

    def random_f32(self) -> np.float32:
        return F(self.random_u32() >> 8) / F(16777216.0)

    def sample(self, logits: np.ndarray) -> int:
        logits = np.asarray(logits, dtype=F)
        if self.temperature == 0:
            return int(np.argmax(logits))  # first maximum, as C's strict '>' scan
        probs = softmax(logits / self.temperature)
        coin = self.random_f32()
        if self.topp <= 0 or self.topp >= 1:
            return _first_above(probs, coin, len(probs) - 1)
        cutoff = (F(1.0) - self.topp) / F(self.vocab_size - 1)
        cand = np.flatnonzero(probs >= cutoff)
        if cand.size == 0:
            return int(np.argmax(probs))
        order = cand[np.lexsort((cand, -probs[cand]))]
        cum = np.add.accumulate(probs[order], dtype=F)
        over = np.flatnonzero(cum > self.topp)
        last = int(over[0]) if over.size else order.size - 1
        r = coin * cum[last]
        cdf = cum[: last + 1]
        hit = np.flatnonzero(r < cdf)
        return int(order[hit[0]]) if hit.size else int(order[last])


def _first_above(probs: np.ndarray, coin: np.float32, default: int) -> int:
    cdf = np.add.accumulate(probs, dtype=F)
    hit = np.flatnonzero(coin < cdf)
    return int(hit[0]) if hit.size else default
