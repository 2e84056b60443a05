"""Every real board's PlatformIO platform / board / framework, pinned to what was checked against the
platform's own board manifest, and the generated platformio.ini of every real board against them.

`pio run -e <board>` of a real board cannot run here (its platform, toolchain and framework download from
the PlatformIO registry; this machine has no internet for them), so this checks the configuration
instead: the triple in boards/*.yaml, in firmware/platformio.ini and in a `tinyc firmware` project, that
the framework is one the board's manifest lists, and that the port for that framework knows the chip.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from tinyc.boards import all_boards, load_board
from tinyc.platformio.project import default_env, qemu_env, render_platformio_ini
from tinyc.resources import firmware_dir

# board id -> (platform, board, framework, frameworks the manifest lists, chip macro or None), each read off
# the board manifest in the platform's repository (path, commit) on 2026-12-03:
VERIFIED: dict[str, tuple[str, str, str, tuple[str, ...], str | None]] = {
    # platformio/platform-espressif32 boards/esp32dev.json @ 036ab5ad2da50e6b113d9d9237d1df4f3e712afc
    "esp32": ("espressif32", "esp32dev", "espidf", ("arduino", "espidf"), None),
    # platformio/platform-espressif32 boards/esp32-c3-devkitm-1.json @ 1d6e1999d14df59b7495268222be6ca187f0aa31
    "esp32-c3": ("espressif32", "esp32-c3-devkitm-1", "espidf", ("arduino", "espidf"), None),
    # platformio/platform-espressif32 boards/esp32-s3-devkitc-1.json @ 20135ac1462bbee488201771a76f4bda30dd13bb
    "esp32-s3": ("espressif32", "esp32-s3-devkitc-1", "espidf", ("espidf",), None),
    # platformio/platform-nordicnrf52 boards/nrf52840_dk.json @ 023c81e290b014cbb785bc208071804e671c8010
    "nrf52840dk": ("nordicnrf52", "nrf52840_dk", "arduino", ("arduino", "mbed", "zephyr"), None),
    # platformio/platform-ststm32 boards/nucleo_f103rb.json @ 0f2b0ffda6d8c18707d36ac95102b02f6fcbbe5c
    "nucleo-f103rb": ("ststm32", "nucleo_f103rb", "stm32cube",
                      ("arduino", "cmsis", "mbed", "libopencm3", "spl", "stm32cube", "zephyr"), "STM32F103xB"),
    # platformio/platform-ststm32 boards/nucleo_f207zg.json @ 0bf8d98f1944d76e4b8159962c04969d610c30ab
    "nucleo-f207zg": ("ststm32", "nucleo_f207zg", "stm32cube",
                      ("arduino", "cmsis", "mbed", "stm32cube", "libopencm3", "zephyr"), "STM32F207xx"),
    # platformio/platform-ststm32 boards/nucleo_f746zg.json @ 04c1f9321fc027d669499ec49c00a417b333894e
    "nucleo-f746zg": ("ststm32", "nucleo_f746zg", "stm32cube",
                      ("arduino", "cmsis", "mbed", "stm32cube", "libopencm3", "zephyr"), "STM32F746xx"),
    # platformio/platform-ststm32 boards/nucleo_h743zi.json @ 091f04f7ebbe498a9ef9a266f30177730bdcc9ee
    "nucleo-h743zi": ("ststm32", "nucleo_h743zi", "stm32cube", ("arduino", "cmsis", "stm32cube", "mbed", "zephyr"),
                      "STM32H743xx"),
    # platformio/platform-ststm32 boards/nucleo_l4r5zi.json @ 0c0c5dea0c3708eb9a768096b5686e65c61acff8
    "nucleo-l4r5zi": ("ststm32", "nucleo_l4r5zi", "stm32cube", ("arduino", "mbed", "stm32cube"), "STM32L4R5xx"),
    # platformio/platform-ststm32 boards/nucleo_u575zi_q.json @ 115dfc690ab6f6c75152f287b10c83f56691ab80
    # (docs.platformio.org/en/stable/boards/ststm32/nucleo_u575zi_q.html): no stm32cube, so arduino
    "nucleo-u575zi": ("ststm32", "nucleo_u575zi_q", "arduino", ("arduino", "mbed", "mbed-ce"), None),
    # platformio/platform-raspberrypi boards/pico.json @ 1790e0fcbe8268687613e2f7b0c8e7ed5755f9f3
    "rpi-pico": ("raspberrypi", "pico", "arduino", ("arduino",), None),
}
NO_PLATFORMIO_BOARD = {"corstone-300"}  # an FPGA/FVP reference design: no PlatformIO board exists
PORTS = {"stm32cube": "port_stm32cube.c", "arduino": "port_arduino.cpp", "espidf": "port_espidf.c"}
REAL = sorted(VERIFIED)


def test_every_board_is_verified() -> None:
    boards = {b.id: b for b in all_boards()}
    assert set(boards) == set(VERIFIED) | NO_PLATFORMIO_BOARD
    assert all(boards[b].platformio is None for b in NO_PLATFORMIO_BOARD)


@pytest.mark.parametrize("board_id", REAL)
def test_board_file_has_the_verified_triple(board_id) -> None:
    platform, board, framework, listed, _ = VERIFIED[board_id]
    pio = load_board(board_id).platformio
    assert (pio.platform, pio.board, pio.framework) == (platform, board, framework)
    assert framework in listed, f"{board} lists {listed}, not {framework}"


def _envs(ini: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    parser.read_string(ini)
    return parser


@pytest.mark.parametrize("board_id", REAL)
def test_generated_ini_has_the_verified_triple(board_id) -> None:
    """A `tinyc firmware` project for the board (its default environment is the real board) and the
    repository's firmware/platformio.ini."""
    platform, board, framework, _, _ = VERIFIED[board_id]
    b = load_board(board_id)
    for ini in (render_platformio_ini([b], default_env(b), "check"), (firmware_dir() / "platformio.ini").read_text()):
        env = _envs(ini)[f"env:{board_id}"]
        assert (env["platform"], env["board"], env["framework"]) == (platform, board, framework)
    project = _envs(render_platformio_ini([b], default_env(b), "check"))
    assert project["platformio"]["default_envs"] == board_id
    assert project.has_section(f"env:{qemu_env(b)}") == b.emulated


@pytest.mark.parametrize("board_id", REAL)
def test_port_knows_the_board(board_id) -> None:
    """The framework's port is in firmware/src; the STM32Cube port has the board's chip (its virtual COM
    port pins), so the real build does not stop at its #error."""
    _, _, framework, _, chip = VERIFIED[board_id]
    port = Path(firmware_dir() / "src" / PORTS[framework]).read_text()
    if framework == "stm32cube":
        assert re.search(rf"^#(el)?if .*defined\({chip}\)", port, re.MULTILINE), chip
