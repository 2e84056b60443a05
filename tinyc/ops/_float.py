"""Steps the float32 reference kernels share, written as the C templates write them (codegen/templates/_float.j2),
so the reference runtime and the generated C agree to the bit on every input, NaN, infinities and -0.0 included
(NumPy's clip, max and sum do not promise the C's order or its handling of NaN and signed zeros)."""

from __future__ import annotations

import numpy as np

F = np.float32
QUIET = {"all": "ignore"}  # overflow to inf and inf - inf = NaN are the C's results, not accidents to warn about


def clamp(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """C: v = v < lo ? lo : v; v = v > hi ? hi : v. NaN passes, -0.0 stays -0.0, infinite bounds never bite."""
    v = np.asarray(v, F)
    with np.errstate(**QUIET):
        v = np.where(v < F(lo), F(lo), v)
        return np.where(v > F(hi), F(hi), v).astype(F)


def running_max(taps: list[np.ndarray], start: np.ndarray) -> np.ndarray:
    """C: m = start; for each tap in order: m = v > m ? v : m (NaN taps are skipped, the first of equal values
    kept)."""
    m = np.asarray(start, F)
    with np.errstate(**QUIET):
        for v in taps:
            m = np.where(v > m, v, m)
    return m.astype(F)


def running_sum(taps: list[np.ndarray]) -> np.ndarray:
    """C: total = 0.0f; for each tap in order: total += v (float32, rounded at every step)."""
    total = np.zeros(np.shape(taps[0]), F)  # the taps all have one shape
    with np.errstate(**QUIET):
        for v in taps:
            total = (total + np.asarray(v, F)).astype(F)
    return total
