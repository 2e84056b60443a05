"""`tinyc bench`: a model x board matrix of bit-exactness, instructions, flash and RAM, its Markdown
rendering, and the comparison with a committed baseline that CI runs (``benchmarks/baseline.json``).

- :func:`load_bench_model`: a model's plan, seeded inputs (all-zero first) and reference outputs;
- :func:`bench_pair`: one row: compile, run on the emulated board, compare, measure;
- :func:`run_matrix`: every pair, in parallel, with a progress bar;
- :func:`compare`: the failures of a matrix against a baseline (bit mismatch, >1% worse, missing pair).

Names are imported on first use, so ``tinyc --help`` does not load the benchmark machinery.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tinyc.bench.baseline import METRICS, compare, row_failures
    from tinyc.bench.defaults import DEFAULT_INPUTS, DEFAULT_SEED
    from tinyc.bench.matrix import run_matrix
    from tinyc.bench.model import BenchModel, load_bench_model, model_label
    from tinyc.bench.pair import bench_pair

_HOMES = {
    "METRICS": "baseline", "compare": "baseline", "row_failures": "baseline",
    "DEFAULT_INPUTS": "defaults", "DEFAULT_SEED": "defaults", "run_matrix": "matrix",
    "BenchModel": "model", "load_bench_model": "model", "model_label": "model",
    "bench_pair": "pair",
}
__all__ = [
    "DEFAULT_INPUTS",
    "DEFAULT_SEED",
    "METRICS",
    "BenchModel",
    "bench_pair",
    "compare",
    "load_bench_model",
    "model_label",
    "row_failures",
    "run_matrix",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'tinyc.bench' has no attribute '{name}'")
    return getattr(import_module(f"tinyc.bench.{_HOMES[name]}"), name)
