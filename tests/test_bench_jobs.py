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
    ad = next(r for r in strip[0] if r["model"] == "ad01_int8" and r["board"] == "nucleo-l4r5zi")
    assert ad["ms_estimate"] == round(ad["instructions"] * 1.3 / 120e3, 3)  # int8 CPI 1.3 at 120 MHz
    sine = next(r for r in strip[0] if r["model"] == "sine" and r["board"] == "esp32-c3")
    assert sine["ms_estimate"] == round(sine["instructions"] * 1.2 / 160e3, 3)  # soft float on RV32IMC


def test_a_malformed_latency_block_is_one_error_naming_the_file(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from tinyc.bench.latency import board_cpi, estimate_ms
    from tinyc.errors import TinycError

    path = tmp_path / "b.yaml"
    path.write_text("id: b\nlatency:\n  cpi: {int8: 1.3}\n  source: a manual\n")  # float32 missing
    with pytest.raises(TinycError, match=r"b\.yaml: latency: must be"):
        board_cpi(SimpleNamespace(path=path))
    path.write_text("id: b\n")  # no block: no estimate
    assert estimate_ms(1000, SimpleNamespace(path=path, clock_mhz=100)) is None
