"""Which weights to keep: boolean masks over a weight matrix of shape (out channels, reduction).

Every function takes the magnitudes of a layer's weights, one row per output channel, and returns
a mask of the same shape (True = keep).
"""

from __future__ import annotations

import numpy as np


def unstructured(magnitude: np.ndarray, sparsity: float) -> np.ndarray:
    """Keep the largest (1 - sparsity) of the layer's weights, whatever their position."""
    flat = magnitude.reshape(-1)
    n_zero = int(round(sparsity * flat.size))
    keep = np.ones(flat.size, bool)
    keep[np.argsort(flat, kind="stable")[:n_zero]] = False
    return keep.reshape(magnitude.shape)


def channels(magnitude: np.ndarray, sparsity: float) -> np.ndarray:
    """Drop whole output channels (rows), those of smallest L2 norm."""
    norms = np.sqrt((magnitude.astype(np.float64) ** 2).sum(axis=1))
    n_zero = int(round(sparsity * len(norms)))
    keep = np.ones(magnitude.shape, bool)
    keep[np.argsort(norms, kind="stable")[:n_zero]] = False
    return keep


def n_of_m(magnitude: np.ndarray, n: int, m: int) -> np.ndarray:
    """In each group of m consecutive weights of a row, keep the n largest (a row's last, partial group
    keeps at most n of its weights)."""
    rows, k = magnitude.shape
    groups = -(-k // m)
    padded = np.full((rows, groups * m), -np.inf)
    padded[:, :k] = magnitude
    order = np.argsort(-padded.reshape(rows, groups, m), axis=2, kind="stable")
    keep = np.zeros((rows, groups, m), bool)
    np.put_along_axis(keep, order[:, :, :n], True, axis=2)
    keep = keep.reshape(rows, groups * m)[:, :k]
    return keep & np.isfinite(padded[:, :k])


def parse_n_m(text: str) -> tuple[int, int]:
    """'2:4' -> (2, 4)."""
    try:
        n, m = (int(v) for v in text.split(":"))
    except ValueError:
        raise ValueError(f"N:M pattern must look like 2:4, got '{text}'") from None
    if not 0 < n < m:
        raise ValueError(f"N:M pattern needs 0 < N < M, got '{text}'")
    return n, m
