"""PlatformIO projects that run a tinyc model: the repository's ``firmware/`` (every board) and the
one-board projects ``tinyc firmware`` writes.

A project is ``platformio.ini`` (one environment per board with its real PlatformIO platform and board,
plus a ``<board>-qemu`` twin for every emulated board, served by the local ``tinyc-qemu`` platform in
``platform/`` that links ``harness/``), ``src/`` (the framework-neutral app and one port per framework),
``tinyc_glue.py`` (a pre-build script that binds the app to the model library in ``lib/``) and
``lib/model`` (the output of ``tinyc compile``).

``firmware/`` is the one source of the app, the glue script, the platform's scripts and the harness (see
:mod:`tinyc.resources`); a project gets copies of them. What ``firmware/`` holds that is derived from
``boards/`` (platformio.ini, the platform's board files and linker scripts) is rewritten by
``python -m tinyc.platformio.update_firmware``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tinyc.boards import Board, all_boards
from tinyc.platformio.devplatform import NAME, write_if_changed, write_platform
from tinyc.resources import firmware_dir
from tinyc.targets.library import open_library

APP_FILES = (
    "tinyc_app.c",
    "tinyc_app.h",
    "tinyc_dwt.h",
    "port_qemu.c",
    "port_stm32cube.c",
    "port_espidf.c",
    "port_arduino.cpp",
)
# what tinyc-qemu links (unity.*: under `pio test`) and the QEMU instruction-count plugin its runs load
HARNESS_FILES = ("harness.h", "harness_start.c", "startup_arm.S", "startup_riscv.S", "unity.h", "unity.c",
                 "icount_plugin.c", "qemu_plugin_api.h")
# `pio test`: the Unity test (PlatformIO's layout) and the -qemu environments' offline runner
TEST_FILES = ("test_model/test_main.c", "test_custom_runner.py")
EXPECTED_HEADER = "test/test_model/tinyc_expected.h"
INPUTS_HEADER = "tinyc_inputs.h"
GLUE_SCRIPT = "tinyc_glue.py"
PLATFORM_DIR = f"platform/{NAME}"
MARKER = "; tinyc firmware project"  # first line of a platformio.ini tinyc may rewrite
REPO_DEFAULT_BOARD = "nucleo-l4r5zi"  # firmware/'s default environment

# src/model_glue.h is kept: PlatformIO wipes the build folder when the list of source files changes, so a
# glue header that appeared only at the first build would make the second one rebuild everything.
GITIGNORE = ".pio/\n"
REPO_GITIGNORE = GITIGNORE + "lib/\nsrc/model_glue.h\n"  # firmware/ in the repository ships no model


def qemu_env(board: Board) -> str:
    return f"{board.id}-qemu"


def _real_env(board: Board) -> list[str]:
    pio = board.platformio
    assert pio is not None
    lines = [
        f"[env:{board.id}]",
        f"; {board.name}: {board.core}, {board.flash_kib} KiB flash, {board.ram_kib} KiB RAM, "
        f"{board.clock_mhz} MHz",
    ]
    if board.arch == "xtensa":
        lines.append(
            f"; not built by tinyc here: no {board.toolchain} toolchain, no QEMU machine for {board.core};\n"
            "; with internet, PlatformIO downloads Espressif's toolchain and ESP-IDF and builds it as usual"
        )
    lines += [f"platform = {pio.platform}", f"board = {pio.board}", f"framework = {pio.framework}", ""]
    return lines


def _emulated_env(board: Board) -> list[str]:
    qemu = board.qemu
    assert qemu is not None
    return [
        f"[env:{qemu_env(board)}]",
        f"; {board.id} emulated, offline: {board.core} on QEMU {qemu.machine} with the board's real "
        f"{board.flash_kib} KiB flash",
        f"; and {board.ram_kib} KiB RAM, built by Debian's {board.toolchain}-gcc; -t upload runs it in QEMU",
        "platform = symlink://${PROJECT_DIR}/" + PLATFORM_DIR,
        f"board = {board.id}",
        "; pio test offline: Unity's output format, test/test_custom_runner.py runs it in QEMU",
        "test_framework = custom",
        "",
    ]


# [env] of a model project: the glue script, and `pio test` building src/ (app and port) with the test
APP_ENV = (
    f"extra_scripts = pre:{GLUE_SCRIPT}",
    "monitor_speed = 115200",
    "; pio test: test/test_model checks the bundled inputs' outputs; src/ (app and port) is built with it",
    "test_build_src = yes",
)


def render_platformio_ini(boards: Sequence[Board], default_env: str, title: str,
                          origin: str = "`tinyc firmware` again updates it",
                          env_lines: Sequence[str] = APP_ENV) -> str:
    """platformio.ini for ``boards``: each board's real environment (if it has a PlatformIO board) and
    its ``-qemu`` twin (if emulated); ``env_lines`` make the [env] section all share."""
    lines = [
        f"{MARKER}: {title}",
        f"; Written by tinyc: {origin}",
        ";",
        "; Real boards: `pio run -e <board> -t upload`, then `pio device monitor` (115200 baud). Their",
        "; platforms and frameworks download from the PlatformIO registry on first use (internet needed).",
        "; Emulated boards, offline: `pio run -e <board>-qemu` builds with the local tinyc-qemu platform",
        f"; ({PLATFORM_DIR}), `-t upload` runs the firmware in QEMU. Use tinyc's PlatformIO core folder:",
        ';   eval "$(tinyc firmware --setup-only)"   or   python -m tinyc.platformio run ...',
        "; The model is the tinyc library in lib/: tinyc compile MODEL --board <board> -o lib/model",
        "",
        "[platformio]",
        f"default_envs = {default_env}",
        "",
        "[env]",
        *env_lines,
        "",
    ]
    for board in boards:
        if board.platformio is None:
            lines.append(f"; {board.id}: {board.name} has no PlatformIO board (no real environment)")
            lines.append("")
        else:
            lines += _real_env(board)
        if board.emulated:
            lines += _emulated_env(board)
    return "\n".join(lines).rstrip("\n") + "\n"


def default_env(board: Board) -> str:
    """A project's default environment: the real board (what a user with the board builds), else (no
    PlatformIO board, e.g. corstone-300) its QEMU twin."""
    return board.id if board.platformio is not None else qemu_env(board)


def write_project_files(project: Path, boards: Sequence[Board], default: str, title: str,
                        inputs_header: str | None = None, origin: str | None = None) -> None:
    """Write everything of a project but ``lib/``, touching only files whose contents change; the default
    inputs header is written only if there is none (or ``inputs_header`` replaces it)."""
    project, source = Path(project), firmware_dir()
    ini = render_platformio_ini(boards, default, title, *([origin] if origin else []))
    write_if_changed(project / "platformio.ini", ini)
    write_if_changed(project / GLUE_SCRIPT, (source / GLUE_SCRIPT).read_text())
    write_if_changed(project / ".gitignore", GITIGNORE)
    for name in APP_FILES:
        write_if_changed(project / "src" / name, (source / "src" / name).read_text())
    if inputs_header is not None:
        write_if_changed(project / "src" / INPUTS_HEADER, inputs_header)
    elif not (project / "src" / INPUTS_HEADER).exists():
        write_if_changed(project / "src" / INPUTS_HEADER, (source / "src" / INPUTS_HEADER).read_text())
    for name in TEST_FILES:
        write_if_changed(project / "test" / name, (source / "test" / name).read_text())
    write_emulation(project, boards)


def write_emulation(project: Path, boards: Sequence[Board]) -> None:
    """The tinyc-qemu platform and the harness it links, if any of ``boards`` is emulated."""
    emulated = [b for b in boards if b.emulated]
    if emulated:
        write_platform(project / PLATFORM_DIR, emulated)
        for name in HARNESS_FILES:
            write_if_changed(project / "harness" / name, (firmware_dir() / "harness" / name).read_bytes())


def update_repo_firmware(dest: Path | None = None) -> Path:
    """Rewrite what ``firmware/`` (or a copy of it, ``dest``) derives from ``boards/``: platformio.ini for
    every board and the platform's board files and linker scripts (its sources are copied onto a ``dest``
    elsewhere; lib/ is left alone, src/model_glue.h is made for a model in lib/model)."""
    dest = Path(dest) if dest is not None else firmware_dir()
    boards = all_boards()
    first = next((b for b in boards if b.id == REPO_DEFAULT_BOARD), boards[0])
    write_project_files(dest, boards, default_env(first), "every board in boards/",
                        origin="`python -m tinyc.platformio.update_firmware` rewrites it from boards/")
    write_if_changed(dest / ".gitignore", REPO_GITIGNORE)
    write_if_changed(dest / "src" / INPUTS_HEADER, (firmware_dir() / "src" / INPUTS_HEADER).read_text())
    report = dest / "lib" / "model" / "report.json"
    if report.is_file():
        name = json.loads(report.read_text())["name"]
        write_if_changed(dest / "src" / "model_glue.h", open_library(report.parent, name).glue_header())
    return dest

