"""Run a float graph over calibration batches and gather, per activation tensor, its range and histogram."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from tinyc.ir import Graph
from tinyc.lower import Plan, lower
from tinyc.runtime import run_plan

HISTOGRAM_BINS = 4096


@dataclass
class TensorStats:
    """What calibration knows of one tensor: its extremes, and the distribution of its non-zero values."""

    lo: float
    hi: float
    count: int = 0  # values seen
    zeros: int = 0  # exact zeros (post-ReLU mass; quantized without error)
    hist: np.ndarray | None = None  # counts of the non-zero values over HISTOGRAM_BINS bins on [lo, hi]

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(self.lo, self.hi, HISTOGRAM_BINS + 1)


def batches(samples: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(samples), size):
        yield samples[start:start + size]


def activations(plan: Plan, samples: np.ndarray, batch: int, desc: str,
                names: set[str] | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Every activation of the graph (or those in `names`), one batch at a time, with a progress bar."""
    n_batches = -(-len(samples) // batch)
    for x in tqdm(batches(samples, batch), total=n_batches, desc=desc, unit="batch", disable=None,
                  leave=False):
        values = run_plan(plan, [x], keep_all=True)
        yield values if names is None else {k: v for k, v in values.items() if k in names}


def observe(graph: Graph, samples: np.ndarray, names: set[str], histograms: bool,
            batch: int = 64) -> dict[str, TensorStats]:
    """Range of each named tensor over the samples; with `histograms`, a second pass fills the histograms."""
    plan = lower(graph)
    stats: dict[str, TensorStats] = {}
    for values in activations(plan, samples, batch, "calibrate (ranges)", names):
        for name, v in values.items():
            lo, hi = float(v.min()), float(v.max())
            s = stats.setdefault(name, TensorStats(lo, hi))
            s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
            s.count += v.size
            s.zeros += int(np.count_nonzero(v == 0))
    if not histograms:
        return stats
    for s in stats.values():
        s.hist = np.zeros(HISTOGRAM_BINS, np.int64)
    for values in activations(plan, samples, batch, "calibrate (histograms)", names):
        for name, v in values.items():
            s = stats[name]
            if s.hi > s.lo:
                nz = v[v != 0]
                s.hist += np.histogram(nz, bins=HISTOGRAM_BINS, range=(s.lo, s.hi))[0]
    return stats
