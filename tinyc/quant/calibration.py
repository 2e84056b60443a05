"""Calibration: the float range [lo, hi] each activation is quantized over, by one of three methods.

- minmax: the extremes seen on the calibration set.
- percentile: the (100 - p)th and pth percentiles, so that rare outliers are clipped.
- mse: the range minimizing the expected squared quantization error on the tensor's histogram:
  clipping error of the values outside plus step**2 / 12 for each non-zero value inside.
"""

from __future__ import annotations

import numpy as np

from tinyc.errors import InputError
from tinyc.ir import Graph
from tinyc.quant.data import check_samples
from tinyc.quant.observe import TensorStats, observe
from tinyc.quant.scheme import FIXED_OUTPUT, inherits_quant

METHODS = ("minmax", "percentile", "mse")
DEFAULT_PERCENTILE = 99.99
MSE_GRID = 256  # candidate clipping points per side, as fractions of the observed extreme
LEVELS = 255  # int8 steps

Ranges = dict[str, tuple[float, float]]


def tensors_to_calibrate(graph: Graph) -> set[str]:
    """The graph inputs and every node output whose quantization is not inherited or fixed."""
    names = set(graph.inputs)
    for node in graph.nodes:
        if not inherits_quant(node) and node.op not in FIXED_OUTPUT:
            names.update(node.outputs)
    return names


def calibrate(graph: Graph, samples: np.ndarray, method: str = "minmax",
              percentile: float = DEFAULT_PERCENTILE, batch: int = 64) -> Ranges:
    """The range of every activation that needs one, over the calibration samples."""
    if method not in METHODS:
        raise InputError(f"unknown calibration method '{method}' (expected {', '.join(METHODS)})")
    if not 50.0 < percentile <= 100.0:
        raise InputError(f"percentile must be in (50, 100], got {percentile}")
    samples = check_samples(graph, samples)
    stats = observe(graph, samples, tensors_to_calibrate(graph), histograms=method != "minmax", batch=batch)
    return {name: choose_range(s, method, percentile) for name, s in stats.items()}


def choose_range(s: TensorStats, method: str, percentile: float = DEFAULT_PERCENTILE) -> tuple[float, float]:
    if method == "minmax" or s.hist is None or s.hi <= s.lo:
        return s.lo, s.hi
    if method == "percentile":
        return percentile_range(s, percentile)
    return mse_range(s)


def _with_zeros(s: TensorStats) -> np.ndarray:
    """The histogram with the exact zeros put back into the bin holding 0."""
    hist = s.hist.astype(np.float64).copy()
    if s.zeros:
        hist[int(np.clip(np.searchsorted(s.edges, 0.0, side="right") - 1, 0, len(hist) - 1))] += s.zeros
    return hist


def percentile_range(s: TensorStats, percentile: float) -> tuple[float, float]:
    hist = _with_zeros(s)
    cdf = np.cumsum(hist) / hist.sum()
    edges = s.edges
    tail = 1.0 - percentile / 100.0
    lo = float(edges[int(np.searchsorted(cdf, tail, side="left"))])  # lower edge of the bin crossing the tail
    hi = float(edges[int(np.searchsorted(cdf, 1.0 - tail, side="left")) + 1])
    return max(lo, s.lo), min(hi, s.hi)


def _clip_errors(centers: np.ndarray, counts: np.ndarray, cands: np.ndarray, upper: bool) -> tuple:
    """Squared clipping error and number of clipped values for each candidate clip point."""
    if upper:
        outside = centers[None, :] > cands[:, None]
    else:
        outside = centers[None, :] < cands[:, None]
    d = np.where(outside, centers[None, :] - cands[:, None], 0.0)
    return (d * d * counts[None, :]).sum(axis=1), (outside * counts[None, :]).sum(axis=1)


def mse_range(s: TensorStats) -> tuple[float, float]:
    edges = s.edges
    centers = (edges[:-1] + edges[1:]) / 2
    counts = s.hist.astype(np.float64)
    fractions = np.arange(1, MSE_GRID + 1) / MSE_GRID
    his = s.hi * fractions if s.hi > 0 else np.zeros(1)
    los = s.lo * fractions if s.lo < 0 else np.zeros(1)
    err_hi, n_hi = _clip_errors(centers, counts, his, upper=True)
    err_lo, n_lo = _clip_errors(centers, counts, los, upper=False)
    step = (his[None, :] - los[:, None]) / LEVELS
    inside = counts.sum() - n_hi[None, :] - n_lo[:, None]
    total = err_lo[:, None] + err_hi[None, :] + inside * step * step / 12.0
    i, j = np.unravel_index(int(np.argmin(total)), total.shape)
    return float(los[i]), float(his[j])  # a side with no values of its sign clips at 0, kept by the scheme
