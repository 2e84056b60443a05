"""The CI regression matrix: the five MLPerf Tiny int8 models (KWS, IC, AD, VWW, streaming wake word) on every
emulated core, each pair compiled, run on 20 random inputs + the all-zero input under QEMU, checked byte for
byte against the reference runtime, and compared with benchmarks/baseline.json: more than 1% worse
instructions, flash code, flash weights or RAM total fails. On the small M3 (F103RB) IC and VWW do not fit its
20 KiB of RAM (nor AD its 128 KiB of flash): the baseline records "does not fit" with the fit message, and so
must the run; the F207ZG runs them all on the same core.

Run only the matrix with ``pytest -m matrix -n 2`` (about 20 s). A deliberate change of a figure updates
the baseline in the same commit (the command is in benchmarks/README.md), the reason in the message.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import MLPERF_INT8, REPO
from tinyc.bench import BenchModel, bench_pair, compare, load_bench_model, model_label
from tinyc.bench.baseline import load_matrix, rows_of
from tinyc.bench.pair import NO_FIT, OK
from tinyc.boards import load_board

pytestmark = pytest.mark.matrix

BASELINE = REPO / "benchmarks" / "baseline.json"
INPUTS, SEED = 20, 0
MODELS = MLPERF_INT8 | {"vww": "mlperf_tiny/vww/vww_96_int8.tflite", "sww": "mlperf_tiny/sww/str_ww_ref_model.tflite"}
BOARDS = {  # core -> board
    "cortex-m0plus": "rpi-pico",
    "cortex-m3 (small: 128 KiB flash, 20 KiB RAM)": "nucleo-f103rb",
    "cortex-m3": "nucleo-f207zg",
    "cortex-m4f": "nucleo-l4r5zi",
    "cortex-m7": "nucleo-h743zi",
    "cortex-m33": "nucleo-u575zi",
    "cortex-m55": "corstone-300",
    "rv32imc": "esp32-c3",
}
DOES_NOT_FIT = {("ic", "nucleo-f103rb"): "KiB of RAM", ("ad", "nucleo-f103rb"): "KiB of flash",
                ("vww", "nucleo-f103rb"): "KiB of RAM"}
TOOLS = {
    "arm": ("arm-none-eabi-gcc", "qemu-system-arm"),
    "riscv": ("riscv64-unknown-elf-gcc", "qemu-system-riscv32"),
}


@cache
def bench_model(models_dir: Path, key: str) -> BenchModel:
    return load_bench_model(models_dir / MODELS[key], INPUTS, SEED)


@cache
def baseline_rows() -> dict[tuple[str, str], dict]:
    return {(r["model"], r["board"]): r for r in rows_of(load_matrix(BASELINE))}


@pytest.mark.parametrize("board_id", list(BOARDS.values()))
@pytest.mark.parametrize("key", sorted(MODELS))
def test_pair_is_bit_exact_and_no_worse_than_baseline(key: str, board_id: str, models_dir: Path) -> None:
    board = load_board(board_id)
    missing = [t for t in (*TOOLS[board.arch], "cc") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    row = bench_pair(bench_model(models_dir, key), board)
    if (key, board_id) in DOES_NOT_FIT:
        assert row["status"] == NO_FIT, row
        assert DOES_NOT_FIT[key, board_id] in row["message"] and board_id in row["message"]
    else:
        assert row["status"] == OK, row["message"]
        assert row["bit_exact"] and row["compared"] == INPUTS + 1, row["mismatched_inputs"]
        assert row["instructions"] > 0 and row["flash"]["code"] > 0 and row["ram"]["stack_peak"] > 0
    base = baseline_rows().get((row["model"], board_id))
    failures = compare([row], [base] if base else [])
    assert not failures, "\n".join(failures)


def test_baseline_holds_exactly_the_matrix() -> None:
    """Every pair of the matrix has a baseline row and the baseline has no row the matrix does not check."""
    expected = {(model_label(MODELS[k]), b) for k in MODELS for b in BOARDS.values()}
    assert set(baseline_rows()) == expected
    assert load_matrix(BASELINE)["inputs"] == INPUTS
    for (_, board), row in baseline_rows().items():
        assert row["core"] == load_board(board).core
