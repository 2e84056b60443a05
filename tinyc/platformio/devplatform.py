"""The local PlatformIO development platform ``tinyc-qemu`` that a tinyc firmware project ships.

It builds for the boards tinyc emulates with Debian's cross compilers and runs the result in QEMU
(``pio run -t upload``). Its scripts are ``firmware/platform/tinyc-qemu/{platform.py,builder/main.py}``;
the board files come from ``boards/*.yaml`` and the linker scripts from
:func:`tinyc.targets.firmware.linker_script` (the board's real flash and RAM sizes). It links the
project's ``harness/`` (startup code and semihosting, from ``firmware/harness/``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import tinyc
from tinyc.atomic import write_bytes
from tinyc.boards import Board
from tinyc.errors import TinycError
from tinyc.resources import firmware_dir
from tinyc.targets.firmware import LIBC_SPECS, linker_script
from tinyc.targets.toolchain import _PACKAGES

NAME = "tinyc-qemu"
# the platform's own files in firmware/platform/tinyc-qemu
SCRIPTS = ("platform.py", "qemu_run.py", "builder/main.py")


def write_if_changed(path: Path, data: str | bytes) -> bool:
    """Write ``path`` unless it already holds ``data`` (so unchanged files keep their mtimes); True if
    written."""
    raw = data.encode() if isinstance(data, str) else data
    if path.is_file() and path.read_bytes() == raw:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, raw)
    return True


def board_manifest(board: Board) -> dict:
    """``boards/<id>.json`` of the platform for an emulated ``board``."""
    qemu = board.qemu
    if qemu is None:
        raise TinycError(f"{board.id} is not emulated here ({board.status}): no tinyc-qemu board")
    gcc = f"{board.toolchain}-gcc"
    hint = " and ".join(
        f"apt-get install {_PACKAGES[tool]}" for tool in (gcc, qemu.system) if tool in _PACKAGES
    )
    return {
        "name": f"{board.name} on QEMU {qemu.machine}",
        "url": "https://www.qemu.org/docs/master/system/target-arm.html"
        if board.arch == "arm"
        else "https://www.qemu.org/docs/master/system/riscv/virt.html",
        "vendor": "tinyc",
        "frameworks": [],
        "build": {
            "core": board.core,
            "mcu": board.core,
            "f_cpu": f"{board.clock_mhz * 1_000_000}L",
            "arch": board.arch,
            "toolchain": board.toolchain,
            "cflags": list(board.cflags),
            "libc_specs": list(LIBC_SPECS[board.arch]),
            "ldscript": f"ldscripts/{board.id}.ld",
            "install_hint": hint,
            "qemu": {
                "system": qemu.system,
                "machine": qemu.machine,
                "extra": ["-bios", "none"] if board.arch == "riscv" else [],
            },
        },
        "upload": {
            "maximum_size": board.flash_bytes,
            "maximum_ram_size": board.ram_bytes,
            "protocol": "qemu",
            "protocols": ["qemu"],
        },
        "debug": {},
    }


def platform_files(boards: Iterable[Board]) -> dict[str, str | bytes]:
    """Every file of the platform folder (relative path -> contents) for the emulated ``boards``."""
    boards = [b for b in boards if b.emulated]
    manifest = {
        "name": NAME,
        "title": "tinyc QEMU boards",
        "description": "Builds for the boards tinyc emulates (Debian cross compilers, each board's real "
        "flash and RAM sizes) and runs the firmware in QEMU on upload. Written by tinyc.",
        "version": tinyc.__version__,
        "engines": {"platformio": "^6"},
        "frameworks": {},
        "packages": {},
    }
    source = firmware_dir() / "platform" / NAME
    files: dict[str, str | bytes] = {"platform.json": json.dumps(manifest, indent=2) + "\n"}
    for rel in SCRIPTS:
        files[rel] = (source / rel).read_text()
    for board in boards:
        files[f"boards/{board.id}.json"] = json.dumps(board_manifest(board), indent=2) + "\n"
        files[f"ldscripts/{board.id}.ld"] = linker_script(board)
    return files


def write_platform(dest: Path, boards: Iterable[Board]) -> Path:
    """Write the platform into ``dest`` (a folder named tinyc-qemu), touching only files that change and
    removing board files of boards no longer in ``boards``; returns ``dest``."""
    dest = Path(dest)
    files = platform_files(boards)
    for rel, data in files.items():
        write_if_changed(dest / rel, data)
    for sub in ("boards", "ldscripts"):
        for path in (dest / sub).glob("*"):
            if path.relative_to(dest).as_posix() not in files:
                path.unlink()
    return dest
