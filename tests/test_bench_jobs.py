"""`tinyc bench --jobs N`: pairs in worker processes give the same matrix as --jobs 1 (rows in the same
order, every field but the compile time equal). Wall time lives in benchmarks/bench_jobs.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import MLPERF_INT8, REPO
from tinyc.bench import run_matrix

SINE = REPO / "examples" / "sine.onnx"
TOOLS = ("cc", "arm-none-eabi-gcc", "qemu-system-arm", "riscv64-unknown-elf-gcc", "qemu-system-riscv32")


@pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason="cross toolchains or QEMU missing")
def test_jobs_two_gives_the_matrix_of_jobs_one(models_dir: Path) -> None:
    models = [SINE, models_dir / MLPERF_INT8["ad"]]  # float and int8
    boards = ["nucleo-l4r5zi", "esp32-c3", "esp32"]  # M4F, RV32IMC, and a generate-only board
    kwargs = {"count": 3, "seed": 5, "progress": False}
    one = run_matrix(models, boards, jobs=1, **kwargs)
    two = run_matrix(models, boards, jobs=2, **kwargs)
    strip = [[{k: v for k, v in r.items() if k != "compile_seconds"} for r in m["rows"]] for m in (one, two)]
    assert len(strip[0]) == len(models) * len(boards)
    assert sum(r["status"] == "ok" for r in strip[0]) >= 2 * len(models)
    assert strip[0] == strip[1]
    assert all(r["ms_estimate"] > 0 for r in strip[0] if r["status"] == "ok")
