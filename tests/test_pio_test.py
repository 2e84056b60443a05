"""`pio test` of a `tinyc firmware` project: the Unity test in test/test_model runs KWS on the 3 bundled
inputs and compares its output records byte for byte with the reference runtime's (tinyc_expected.h); it
passes offline on the -qemu environment of every emulated board and fails when one expected byte is wrong.
The QEMU runs print each inference's instruction count where real boards print cycles."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyc.boards import all_boards
from tinyc.pipeline import build_plan
from tinyc.platformio import create_firmware, run_pio
from tinyc.platformio.project import EXPECTED_HEADER

from .conftest import MLPERF_INT8

EMULATED = [b.id for b in all_boards() if b.emulated]
TOOLS = {"arm": ("arm-none-eabi-gcc", "qemu-system-arm"), "riscv": ("riscv64-unknown-elf-gcc", "qemu-system-riscv32")}
N_INPUTS = 3


@pytest.fixture(scope="module")
def kws(models_dir: Path) -> tuple[Path, np.ndarray]:
    model = models_dir / MLPERF_INT8["kws"]
    graph = build_plan(model).graph
    t = graph.tensor(graph.inputs[0])
    return model, np.random.default_rng(15).integers(-128, 128, (N_INPUTS, *t.shape)).astype(np.int8)


def need_tools(board_id: str) -> None:
    board = next(b for b in all_boards() if b.id == board_id)
    missing = [t for t in (*TOOLS[board.arch], "cc") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


def pio_test(project: Path, env: str) -> tuple[int, str]:
    result = run_pio(["test", "-e", env], project=project, timeout=600)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("board", EMULATED)
def test_pio_test_passes_on_qemu(board: str, kws: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    need_tools(board)
    model, inputs = kws
    project = create_firmware(model, board, tmp_path / board, inputs=inputs, name="kws")
    code, log = pio_test(project.path, project.emulated_env)
    assert code == 0, log[-3000:]
    assert re.search(r"test_bundled_inputs_give_expected_outputs\s+\[PASSED\]", log), log[-3000:]
    assert "1 test cases: 1 succeeded" in log


def test_wrong_expected_byte_fails_and_runs_print_instructions(kws: tuple[Path, np.ndarray],
                                                                tmp_path: Path) -> None:
    from tinyc.pipeline import run_model

    board = "nucleo-l4r5zi"
    need_tools(board)
    model, inputs = kws
    project = create_firmware(model, board, tmp_path / board, inputs=inputs, name="kws")
    # the firmware's own run (pio run -t upload): TIME lines carry the instructions of each inference
    log = run_pio(["run", "-e", project.emulated_env, "-t", "upload"], project=project.path).stdout
    counts = [int(n) for n in re.findall(r"^TIME \d+ (\d+) instructions$", log, re.M)]
    _, report = run_model(build_plan(model), [inputs], board)
    measured = report["instructions_per_inference"]
    assert len(counts) == N_INPUTS
    # tinyc run's harness and the firmware app differ only in the call around MODEL_RUN inside the window
    offsets = {c - m for c, m in zip(counts, measured, strict=True)}
    assert len(offsets) == 1 and 0 <= offsets.pop() <= 8, (counts, measured)
    # one expected byte changed: the same test now fails, naming the element
    expected = project.path / EXPECTED_HEADER
    text = expected.read_text()
    first = re.search(r"0x([0-9a-f]{2})", text[text.index("tinyc_expected["):])
    wrong = f"0x{int(first.group(1), 16) ^ 0x01:02x}"
    at = text.index("tinyc_expected[") + first.start()
    expected.write_text(text[:at] + wrong + text[at + 4:])
    code, log = pio_test(project.path, project.emulated_env)
    assert code != 0
    assert re.search(r":FAIL: Element 0 Expected 0x[0-9A-F]{2} Was 0x[0-9A-F]{2}\. an output record", log), log[-2000:]
