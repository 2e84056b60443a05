"""A fake model library (the generated-C API) runs on the host and on every emulated board, giving the
NumPy result; sizes, stack, errors, hangs, faults and the fit check are reported as the issue asks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyc.boards import BOARDS_ENV, all_boards, boards_dir, load_board
from tinyc.errors import InputError, TinycError, ToolchainError
from tinyc.targets import check_fit, find_tool, model_sizes, run_board, run_host
from tinyc.targets.library import pack_records, split_records

IN, OUT, ARENA, SCRATCH = 40, 10, 256, 200
WEIGHTS = np.random.default_rng(1).integers(-128, 128, size=(OUT, IN), dtype=np.int8)
TRIGGER = [-128, -128, -128]  # first input bytes that make the fake model misbehave, by the fourth byte

HEADER = f"""\
#ifndef FAKE_H
#define FAKE_H
#include <stdint.h>
#define FAKE_INPUT_SIZE {IN}
#define FAKE_OUTPUT_SIZE {OUT}
#define FAKE_ARENA_SIZE {ARENA}
int fake_run(const int8_t *input, int8_t *output);
#endif
"""
SOURCE = """\
#include "fake.h"
const int8_t tinyc_w_fake[FAKE_OUTPUT_SIZE * FAKE_INPUT_SIZE] = {WEIGHTS};
static int32_t arena[FAKE_ARENA_SIZE / 4];
int fake_run(const int8_t *input, int8_t *output) {
    volatile int8_t scratch[SCRATCH]; /* a known amount of stack */
    for (int i = 0; i < (int)sizeof scratch; i++) scratch[i] = input[i % FAKE_INPUT_SIZE];
    if (input[0] == -128 && input[1] == -128 && input[2] == -128) {
        if (input[3] == 1) return 7;
        if (input[3] == 2) for (;;) {}
        if (input[3] == 3) __builtin_trap();
    }
    for (int o = 0; o < FAKE_OUTPUT_SIZE; o++) {
        int32_t acc = 0;
        for (int i = 0; i < FAKE_INPUT_SIZE; i++) acc += scratch[i] * tinyc_w_fake[o * FAKE_INPUT_SIZE + i];
        arena[o] = (acc + 32) >> 6;
    }
    for (int o = 0; o < FAKE_OUTPUT_SIZE; o++) {
        const int32_t v = arena[o];
        output[o] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
    }
    return 0;
}
""".replace("WEIGHTS", ", ".join(str(int(w)) for w in WEIGHTS.flat)).replace("SCRATCH", str(SCRATCH))

EMULATED = [b for b in all_boards() if b.emulated]


def reference(inputs: np.ndarray) -> np.ndarray:
    acc = inputs.astype(np.int32) @ WEIGHTS.T.astype(np.int32)
    return np.clip((acc + 32) >> 6, -128, 127).astype(np.int8)


def needs(*tools: str):
    missing = [t for t in tools if shutil.which(t) is None]
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed")


def board_param(board):
    tools = ["cc", f"{board.toolchain}-gcc", board.qemu.system]
    return pytest.param(board, id=board.id, marks=needs(*tools))


@pytest.fixture(scope="module")
def fake_lib(tmp_path_factory) -> Path:
    lib = tmp_path_factory.mktemp("fake")
    (lib / "fake.h").write_text(HEADER)
    (lib / "fake.c").write_text(SOURCE)
    return lib


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    x = np.random.default_rng(0).integers(-127, 128, size=(24, IN), dtype=np.int8)  # never the trigger
    x[0], x[1] = 127, -127  # saturating outputs
    return x


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TINYC_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def trigger(behaviour: int) -> np.ndarray:
    x = np.zeros((1, IN), dtype=np.int8)
    x[0, :4] = [*TRIGGER, behaviour]
    return x


@needs("cc")
def test_host_matches_numpy(fake_lib, inputs):
    assert model_sizes(fake_lib, "fake").input == IN
    np.testing.assert_array_equal(run_host(fake_lib, "fake", inputs), reference(inputs))
    np.testing.assert_array_equal(run_host(fake_lib, "fake", inputs[3]), reference(inputs[3:4]))


@needs("cc")
def test_host_under_sanitizers(fake_lib, inputs):
    np.testing.assert_array_equal(run_host(fake_lib, "fake", inputs, sanitize=True), reference(inputs))


@needs("cc")
def test_host_errors(fake_lib, inputs):
    with pytest.raises(InputError, match=r"inputs for fake have 39 bytes each, the model takes 40"):
        run_host(fake_lib, "fake", inputs[:, :39])
    with pytest.raises(InputError, match=r"inputs for fake have 160 bytes each, the model takes 40"):
        run_host(fake_lib, "fake", inputs.astype(np.float32))
    with pytest.raises(InputError, match=r"must be a numeric array, got <U1"):
        run_host(fake_lib, "fake", np.array([["a"]]))
    with pytest.raises(ToolchainError, match=r"on the host failed \(exit 1\): model returned 7 on input 0"):
        run_host(fake_lib, "fake", trigger(1))
    with pytest.raises(InputError, match=r"no other\.h"):
        run_host(fake_lib, "other", inputs)


TWO_HEADER = """\
#include <stdint.h>
#define TWO_NUM_INPUTS 2
#define TWO_NUM_OUTPUTS 2
#define TWO_INPUT0_SIZE 12
#define TWO_INPUT1_SIZE 2
#define TWO_OUTPUT0_SIZE 4
#define TWO_OUTPUT1_SIZE 1
int two_run(const float *input0, const int8_t *input1, float *output0, int8_t *output1);
"""
TWO_SOURCE = """\
#include "two.h"
int two_run(const float *input0, const int8_t *input1, float *output0, int8_t *output1) {
    output0[0] = input0[0] * input0[1] + input0[2];
    output1[0] = (int8_t)(input1[0] - input1[1]);
    return 0;
}
"""


@pytest.mark.parametrize(
    "where", [pytest.param("host", marks=needs("cc")), board_param(load_board("nucleo-l4r5zi"))]
)
def test_float_model_with_two_inputs_and_outputs(tmp_path, where):
    (tmp_path / "two.h").write_text(TWO_HEADER)
    (tmp_path / "two.c").write_text(TWO_SOURCE)
    floats = np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32)
    ints = np.random.default_rng(3).integers(-60, 60, size=(5, 2), dtype=np.int8)
    records = pack_records([floats, ints])  # all inputs of an inference in one record, each 8-byte aligned
    assert records.shape == (5, 16 + 2)
    if where == "host":
        out = run_host(tmp_path, "two", records)
    else:
        out = run_board(tmp_path, "two", where, records).outputs
    sums, diffs = split_records(out, [(np.float32, (1,)), (np.int8, (1,))])
    np.testing.assert_array_equal(sums[:, 0], floats[:, 0] * floats[:, 1] + floats[:, 2])
    np.testing.assert_array_equal(diffs[:, 0], ints[:, 0] - ints[:, 1])


@pytest.mark.parametrize("board", [board_param(b) for b in EMULATED])
def test_board_matches_numpy(fake_lib, inputs, board):
    run = run_board(fake_lib, "fake", board, inputs)
    np.testing.assert_array_equal(run.outputs, reference(inputs))
    assert len(run.instructions_per_inference) == len(inputs)
    assert all(n > 2 * OUT * IN for n in run.instructions_per_inference)  # at least a load and a MAC each
    assert run.flash_weights == OUT * IN  # the tinyc_w_ symbol
    assert run.ram_static == ARENA
    assert 0 < run.flash_code < 1024 and 0 < run.harness_flash < 2048
    assert SCRATCH <= run.stack_peak <= SCRATCH + 64
    assert run.qemu_runs == 1


@needs("cc", "arm-none-eabi-gcc", "qemu-system-arm")
def test_batch_split_over_several_runs(fake_lib, inputs, tmp_path, monkeypatch):
    shutil.copytree(boards_dir(), tmp_path / "boards")
    path = tmp_path / "boards" / "nucleo-f103rb.yaml"
    path.write_text(path.read_text().replace("data_kib: 2048", "data_kib: 1"))  # 1 KiB: 25 inputs per image
    monkeypatch.setenv(BOARDS_ENV, str(tmp_path / "boards"))
    many = np.concatenate([inputs, inputs, inputs])
    run = run_board(fake_lib, "fake", "nucleo-f103rb", many, work_dir=tmp_path / "build")
    assert run.qemu_runs == 3
    np.testing.assert_array_equal(run.outputs, reference(many))
    assert run.instructions_per_inference == run.instructions_per_inference[:24] * 3
    assert (tmp_path / "build" / "link.ld").read_text().count("LENGTH = 0x20000") == 1  # 128 KiB of flash


@needs("cc", "arm-none-eabi-gcc", "qemu-system-arm", "riscv64-unknown-elf-gcc", "qemu-system-riscv32")
@pytest.mark.parametrize("board_id", ["nucleo-l4r5zi", "esp32-c3"])
def test_board_failures_are_reported(fake_lib, board_id):
    with pytest.raises(TinycError, match=rf"^fake_run returned 7 on input 0 on {board_id}$"):
        run_board(fake_lib, "fake", board_id, trigger(1))
    cause = "exception 0x3" if board_id != "esp32-c3" else "mcause 0x3"  # HardFault / breakpoint
    with pytest.raises(TinycError, match=rf"^fake crashed on {board_id} \({cause}\) at input 0$"):
        run_board(fake_lib, "fake", board_id, trigger(3))


@needs("cc", "riscv64-unknown-elf-gcc", "qemu-system-riscv32")
def test_hung_program_times_out(fake_lib):
    with pytest.raises(ToolchainError, match=r"on esp32-c3 \(virt\) did not finish within 1 s"):
        run_board(fake_lib, "fake", "esp32-c3", trigger(2), timeout=1)


@needs("cc", "arm-none-eabi-gcc")
def test_model_too_big_for_the_board_fails_to_link(fake_lib, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    (big / "fake.h").write_text(HEADER.replace(f"FAKE_ARENA_SIZE {ARENA}", "FAKE_ARENA_SIZE (300 * 1024)"))
    shutil.copy(fake_lib / "fake.c", big / "fake.c")
    with pytest.raises(TinycError, match=r"^model needs 30\d KiB of RAM, rpi-pico has 264 KiB \(with the"):
        run_board(big, "fake", "rpi-pico", np.zeros((1, IN), np.int8))


@needs("cc", "arm-none-eabi-gcc", "qemu-system-arm")
def test_stack_overflow_is_reported(tmp_path):
    (tmp_path / "deep.h").write_text(
        "#include <stdint.h>\n#define DEEP_INPUT_SIZE 2\n#define DEEP_OUTPUT_SIZE 1\n"
        "int deep_run(const int8_t *input, int8_t *output);\n"
    )
    (tmp_path / "deep.c").write_text(  # nearly all of nucleo-f103rb's 20 KiB of RAM on the stack
        '#include "deep.h"\nint deep_run(const int8_t *input, int8_t *output) {\n'
        "    volatile int8_t buf[20 * 1024 - 64];\n"
        "    for (unsigned i = 0; i < sizeof buf; i++) buf[i] = input[0];\n"
        "    output[0] = buf[(uint8_t)input[1]];\n    return 0;\n}\n"
    )
    with pytest.raises(
        TinycError, match=r"^the stack overflowed on nucleo-f103rb at input 0: the model needs"
    ):
        run_board(tmp_path, "deep", "nucleo-f103rb", np.zeros((1, 2), np.int8))
    assert run_board(tmp_path, "deep", "nucleo-l4r5zi", np.ones((1, 2), np.int8)).stack_peak >= 20 * 1024 - 64


def test_check_fit():
    pico = load_board("rpi-pico")
    check_fit(pico, 2048 * 1024, 264 * 1024)
    with pytest.raises(TinycError, match=r"^model needs 300 KiB of RAM, rpi-pico has 264 KiB$"):
        check_fit(pico, 100 * 1024, 300 * 1024)
    both = (
        r"^model needs 2049 KiB of flash, rpi-pico has 2048 KiB; "
        r"model needs 265 KiB of RAM, rpi-pico has 264 KiB$"
    )
    with pytest.raises(TinycError, match=both):
        check_fit(pico, 2048 * 1024 + 1, 264 * 1024 + 1)


def test_xtensa_boards_are_not_run(fake_lib, inputs):
    with pytest.raises(TinycError, match=r"^esp32 cannot be run: generate only, not emulated here$"):
        run_board(fake_lib, "fake", "esp32", inputs)


def test_missing_tool_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(
        ToolchainError,
        match=r"^arm-none-eabi-gcc not found: install gcc-arm-none-eabi "
        r"\(apt-get install gcc-arm-none-eabi\)$",
    ):
        find_tool("arm-none-eabi-gcc")


@pytest.mark.parametrize("board", [board_param(load_board("nucleo-l4r5zi"))])
def test_run_report_ram_total_counts_input_and_output_buffers(tmp_path, board):
    """`tinyc run --report` counts RAM as TFLM's figures do: the I/O buffers are part of the total."""
    import json

    from tests.helpers import invoke

    x = tmp_path / "x.npy"
    np.save(x, np.linspace(0, 6, 4, dtype=np.float32).reshape(4, 1, 1))  # 4 inputs of shape [1, 1]
    report = tmp_path / "r.json"
    code, err, _ = invoke("run", Path(__file__).parent.parent / "examples" / "sine.onnx", "-i", x, "-o",
                          tmp_path / "y.npy", "--target", board.id, "--report", report)
    assert code == 0, err
    ram = json.loads(report.read_text())["ram"]
    assert ram["io"] == 2 * 4  # one float32 in, one out
    assert ram["total"] == ram["static"] + ram["stack_peak"] + ram["io"]
    assert 0 <= ram["arena_lower_bound"] <= ram["arena"]
