"""The matrix's pairs run in worker processes: code generation is Python (one core per process under the
GIL), compiling and QEMU are subprocesses, and pairs share nothing (each builds in its own temporary
folder), so N processes give N pairs at once. Workers are forked after the models are loaded, so each
inherits the plans, inputs and reference outputs instead of receiving them pickled. ``jobs=1`` runs in
this process. Rows come back in the pairs' order whatever the order they finish in, so the matrix is the
same for any ``jobs``."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from tinyc.bench.model import BenchModel
from tinyc.bench.pair import bench_pair
from tinyc.boards import Board

_PAIRS: list[tuple[BenchModel, Board]] = []  # set before the workers fork, read by them


def _run(index: int, timeout: float) -> dict[str, Any]:
    model, board = _PAIRS[index]
    return bench_pair(model, board, timeout=timeout)


def run_pairs(pairs: Sequence[tuple[BenchModel, Board]], jobs: int, timeout: float,
              done: Callable[[], None] = lambda: None) -> list[dict[str, Any]]:
    """One row per pair, in order; ``done`` is called as each pair finishes (a progress bar)."""
    global _PAIRS
    if jobs <= 1 or len(pairs) <= 1:
        rows = []
        for model, board in pairs:
            rows.append(bench_pair(model, board, timeout=timeout))
            done()
        return rows
    _PAIRS = list(pairs)
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(pairs)),
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_run, i, timeout) for i in range(len(pairs))]
            for _ in as_completed(futures):
                done()
            return [f.result() for f in futures]
    finally:
        _PAIRS = []
