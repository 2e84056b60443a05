"""Text-quality figures of a decoder plan on a given token sequence."""

from __future__ import annotations

import numpy as np

from tinyc.llm.plan import LlmPlan
from tinyc.llm.runtime import Decoder


def perplexity_and_agreement(plan: LlmPlan, ids: list[int]) -> tuple[float, float]:
    """Teacher-forced over `ids`: the perplexity of the sequence and how often the top logit is the next id."""
    dec = Decoder(plan)
    nll, agree = 0.0, 0
    for pos in range(len(ids) - 1):
        lg = dec.forward(ids[pos], pos).astype(np.float64)
        agree += int(np.argmax(lg)) == ids[pos + 1]
        lg -= lg.max()
        nll -= lg[ids[pos + 1]] - np.log(np.exp(lg).sum())
    return float(np.exp(nll / (len(ids) - 1))), agree / (len(ids) - 1)
