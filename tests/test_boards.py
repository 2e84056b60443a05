"""Board files: every one loads and says what the issue asks; a bad file names the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tinyc.boards import BOARDS_ENV, CORES, all_boards, boards_dir, load_board
from tinyc.errors import TinycError

PLATFORMIO = {
    "nucleo-l4r5zi": ("ststm32", "nucleo_l4r5zi"),
    "nucleo-h743zi": ("ststm32", "nucleo_h743zi"),
    "nucleo-f746zg": ("ststm32", "nucleo_f746zg"),
    "nucleo-f103rb": ("ststm32", "nucleo_f103rb"),
    "nucleo-f207zg": ("ststm32", "nucleo_f207zg"),
    "nucleo-u575zi": ("ststm32", "nucleo_u575zi_q"),  # PlatformIO's id (tests/test_platformio_boards.py)
    "rpi-pico": ("raspberrypi", "pico"),
    "nrf52840dk": ("nordicnrf52", "nrf52840_dk"),
    "esp32-c3": ("espressif32", "esp32-c3-devkitm-1"),
    "esp32": ("espressif32", "esp32dev"),
    "esp32-s3": ("espressif32", "esp32-s3-devkitc-1"),
    "corstone-300": None,
}
MACHINES = {
    "nucleo-l4r5zi": "mps2-an386",
    "nucleo-h743zi": "mps2-an500",
    "nucleo-f746zg": "mps2-an500",
    "rpi-pico": "mps2-an385",
    "nucleo-f103rb": "mps2-an385",
    "nucleo-f207zg": "mps2-an385",
    "nucleo-u575zi": "mps2-an505",
    "corstone-300": "mps3-an547",
    "nrf52840dk": "mps2-an386",
    "esp32-c3": "virt",
    "esp32": None,
    "esp32-s3": None,
}
GOOD = """\
id: {id}
name: Test board
core: cortex-m4f
arch: arm
toolchain: arm-none-eabi
cflags: [-mcpu=cortex-m4, -mthumb, -mfpu=fpv4-sp-d16, -mfloat-abi=hard]
flash_kib: 1024
ram_kib: 256
clock_mhz: 64
kernels: dsp
qemu:
  machine: mps2-an386
  flash_origin: 0x00000000
  ram_origin: 0x20000000
  data_origin: 0x00200000
  data_kib: 2048
platformio: null
"""


def test_every_board_loads():
    boards = {b.id: b for b in all_boards()}
    assert set(PLATFORMIO) <= set(boards)
    for board_id, board in boards.items():
        assert board.path == boards_dir() / f"{board_id}.yaml"
        assert CORES[board.core] == board.arch
        assert board.flash_kib > 0 and board.ram_kib > 0 and board.clock_mhz > 0
        if board_id in PLATFORMIO:
            pio = board.platformio and (board.platformio.platform, board.platformio.board)
            assert pio == PLATFORMIO[board_id]
            assert (board.qemu and board.qemu.machine) == MACHINES[board_id]


def test_board_facts():
    pico = load_board("rpi-pico")
    assert (pico.flash_kib, pico.ram_kib, pico.clock_mhz, pico.kernels) == (2048, 264, 133, "generic")
    assert "-mcpu=cortex-m0plus" in pico.cflags
    u5 = load_board("nucleo-u575zi")
    assert (u5.qemu.flash_origin, u5.qemu.ram_origin) == (0x10000000, 0x38000000)
    assert load_board("corstone-300").kernels == "mve"
    assert load_board("nucleo-l4r5zi").kernels == "dsp"
    c3 = load_board("esp32-c3")
    assert c3.qemu.system == "qemu-system-riscv32" and c3.cflags == ("-march=rv32imc", "-mabi=ilp32")
    for xtensa in ("esp32", "esp32-s3"):
        board = load_board(xtensa)
        assert not board.emulated and board.status == "generate only, not emulated here"


def test_emulated_regions_do_not_overlap():
    for board in all_boards():
        if board.qemu is None:
            continue
        q = board.qemu
        regions = sorted(
            [
                (q.flash_origin, board.flash_bytes),
                (q.ram_origin, board.ram_bytes),
                (q.data_origin, q.data_kib * 1024),
            ]
        )
        for (start, size), (next_start, _) in zip(regions, regions[1:], strict=False):
            assert start + size <= next_start, board.id


def test_unknown_board():
    with pytest.raises(TinycError, match=r"unknown board 'nope' \(known: .*rpi-pico"):
        load_board("nope")


@pytest.fixture
def board_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(BOARDS_ENV, str(tmp_path))
    return tmp_path


def test_boards_dir_override(board_dir):
    (board_dir / "mine.yaml").write_text(GOOD.format(id="mine"))
    assert [b.id for b in all_boards()] == ["mine"]
    assert load_board("mine").ram_bytes == 256 * 1024


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("ram_kib: 256", "ram_kib: -5"), "field 'ram_kib' must be a positive integer"),
        (lambda s: s.replace("ram_kib: 256", "ram_kib: lots"), "field 'ram_kib' must be a positive integer"),
        (
            lambda s: s.replace("clock_mhz: 64", "clock_mhz: true"),
            "field 'clock_mhz' must be a positive integer",
        ),
        (lambda s: s.replace("flash_kib: 1024\n", ""), "field 'flash_kib' is missing"),
        (lambda s: s + "colour: blue\n", "field 'colour' is not a known field"),
        (lambda s: s.replace("core: cortex-m4f", "core: cortex-m99"), "field 'core' must be one of"),
        (lambda s: s.replace("arch: arm", "arch: riscv"), "field 'arch' must be 'arm' for core cortex-m4f"),
        (lambda s: s.replace("id: bad", "id: other"), "field 'id' must match the file name"),
        (lambda s: s.replace("kernels: dsp", "kernels: fast"), "field 'kernels' must be one of"),
        (lambda s: s.replace("cflags: [", "cflags: [3, "), "field 'cflags' must be a list of compiler flags"),
        (lambda s: s.replace("machine: mps2-an386", "machine: virt"), "field 'qemu.machine' emulates riscv"),
        (lambda s: s.replace("ram_origin: 0x20000000", "ram_origin: -1"), "field 'qemu.ram_origin' must be"),
        (lambda s: s.replace("  data_kib: 2048\n", ""), "field 'qemu.data_kib' is missing"),
        (
            lambda s: s.replace("platformio: null", "platformio: {platform: ststm32}"),
            "field 'platformio.board' is missing",
        ),
        (lambda s: s.replace("qemu:\n", "qemu: [\n"), "not a readable YAML file"),
    ],
)
def test_bad_board_file_names_file_and_field(board_dir, edit, message):
    (board_dir / "bad.yaml").write_text(edit(GOOD.format(id="bad")))
    with pytest.raises(TinycError) as info:
        load_board("bad")
    text = str(info.value)
    assert text.startswith(f"{board_dir / 'bad.yaml'}: ") and message in text
    assert "\n" not in text


def test_error_path_is_relative_below_cwd(tmp_path, monkeypatch):
    shutil.copytree(boards_dir(), tmp_path / "boards")
    (tmp_path / "boards" / "rpi-pico.yaml").write_text(
        GOOD.format(id="rpi-pico").replace("ram_kib: 256", "ram_kib: 0")
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(BOARDS_ENV, str(tmp_path / "boards"))
    with pytest.raises(
        TinycError, match=r"^boards/rpi-pico\.yaml: field 'ram_kib' must be a positive integer$"
    ):
        load_board("rpi-pico")
