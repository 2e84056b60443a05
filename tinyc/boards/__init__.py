"""Board definitions: one ``boards/<id>.yaml`` per board, loaded into validated, frozen dataclasses.

The folder is ``boards/`` (the repository's, or the wheel's copy: :func:`tinyc.resources.data_dir`), or
``$TINYC_BOARDS_DIR``. Any problem with a file is a
:class:`~tinyc.errors.TinycError` naming the file and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tinyc.errors import TinycError
from tinyc.resources import data_dir

BOARDS_ENV = "TINYC_BOARDS_DIR"

#: core -> architecture
CORES: dict[str, str] = {
    "cortex-m0plus": "arm",
    "cortex-m3": "arm",
    "cortex-m4f": "arm",
    "cortex-m7": "arm",
    "cortex-m33": "arm",
    "cortex-m55": "arm",
    "rv32imc": "riscv",
    "xtensa-lx6": "xtensa",
    "xtensa-lx7": "xtensa",
}
#: QEMU machine -> architecture
QEMU_MACHINES: dict[str, str] = {
    "mps2-an385": "arm",
    "mps2-an386": "arm",
    "mps2-an500": "arm",
    "mps2-an505": "arm",
    "mps3-an547": "arm",
    "virt": "riscv",
}
KERNEL_SETS = ("generic", "dsp", "mve")

_FIELDS = {
    "id",
    "name",
    "core",
    "arch",
    "toolchain",
    "cflags",
    "flash_kib",
    "ram_kib",
    "clock_mhz",
    "kernels",
    "qemu",
    "platformio",
    "notes",
    "latency",  # read by tinyc.bench.latency
}
_QEMU_FIELDS = {"machine", "flash_origin", "ram_origin", "data_origin", "data_kib"}
_PIO_FIELDS = {"platform", "board", "framework"}


@dataclass(frozen=True)
class QemuTarget:
    """How an emulated run places the board: its flash and RAM at the machine's origins, and a region
    outside both (``data_origin``, ``data_kib``) where test inputs are linked without counting against
    the board."""

    machine: str
    flash_origin: int
    ram_origin: int
    data_origin: int
    data_kib: int

    @property
    def system(self) -> str:
        """The QEMU executable."""
        return "qemu-system-riscv32" if QEMU_MACHINES[self.machine] == "riscv" else "qemu-system-arm"


@dataclass(frozen=True)
class PlatformIOTarget:
    platform: str
    board: str
    framework: str


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    core: str
    arch: str
    toolchain: str  # GCC target prefix, e.g. "arm-none-eabi"
    cflags: tuple[str, ...]
    flash_kib: int
    ram_kib: int
    clock_mhz: int
    kernels: str  # kernel set: "generic", "dsp" or "mve"
    qemu: QemuTarget | None
    platformio: PlatformIOTarget | None
    notes: str
    path: Path

    @property
    def flash_bytes(self) -> int:
        return self.flash_kib * 1024

    @property
    def ram_bytes(self) -> int:
        return self.ram_kib * 1024

    @property
    def emulated(self) -> bool:
        return self.qemu is not None

    @property
    def status(self) -> str:
        if self.qemu is None:
            return "generate only, not emulated here"
        return f"emulated by {self.qemu.system} -M {self.qemu.machine}"


def boards_dir() -> Path:
    """The folder holding the board files."""
    env = os.environ.get(BOARDS_ENV)
    return Path(env) if env else data_dir("boards")


def board_ids() -> list[str]:
    """The ids of the board files; none is an error (an install without its boards/, a wrong
    $TINYC_BOARDS_DIR)."""
    folder = boards_dir()
    ids = sorted(p.stem for p in folder.glob("*.yaml"))
    if not ids:
        where = f"${BOARDS_ENV} = {folder}" if os.environ.get(BOARDS_ENV) else str(folder)
        raise TinycError(f"no board files (*.yaml) in {where}")
    return ids


def load_board(board_id: str) -> Board:
    """The board ``<boards_dir>/<board_id>.yaml``."""
    path = boards_dir() / f"{board_id}.yaml"
    if not path.is_file():
        raise TinycError(f"unknown board '{board_id}' (known: {', '.join(board_ids())})")
    return load_board_file(path)


def all_boards() -> list[Board]:
    """Every board in the folder, sorted by id."""
    return [load_board_file(boards_dir() / f"{board_id}.yaml") for board_id in board_ids()]


def load_board_file(path: Path) -> Board:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TinycError(f"{_shown(path)}: not a readable YAML file: {' '.join(str(exc).split())}") from exc
    return _Validator(path).board(data)


def _shown(path: Path) -> str:
    """The path as a user would type it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class _Validator:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, field: str, problem: str) -> TinycError:
        return TinycError(f"{_shown(self.path)}: field '{field}' {problem}")

    def mapping(self, value: Any, field: str, allowed: set[str], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(field, "must be a mapping")
        prefix = f"{field}." if field != "<top>" else ""
        for key in value:
            if key not in allowed:
                raise self.fail(f"{prefix}{key}", "is not a known field")
        for key in sorted(allowed - set(optional)):
            if key not in value:
                raise self.fail(f"{prefix}{key}", "is missing")
        return value

    def string(self, value: Any, field: str, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "must be a non-empty string")
        if not (value.isascii() and value.isprintable()):  # board text goes into platformio.ini and C comments
            raise self.fail(field, "must be one line of printable ASCII")
        if choices is not None and value not in choices:
            raise self.fail(field, f"must be one of {', '.join(choices)} (got '{value}')")
        return value

    def positive(self, value: Any, field: str) -> int:
        if type(value) is not int or value <= 0:
            raise self.fail(field, "must be a positive integer")
        return value

    def address(self, value: Any, field: str) -> int:
        if type(value) is not int or not 0 <= value < 2**32:
            raise self.fail(field, "must be a 32-bit address such as 0x20000000")
        return value

    def board(self, data: Any) -> Board:
        if not isinstance(data, dict):
            raise TinycError(f"{_shown(self.path)}: must be a YAML mapping of board fields")
        data = self.mapping(data, "<top>", _FIELDS, optional=("notes", "latency"))
        board_id = self.string(data["id"], "id")
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", board_id):  # it names files, env sections and QEMU boards
            raise self.fail("id", f"must be lower-case letters, digits, '.', '_' and '-' (got {board_id!r})")
        if board_id != self.path.stem:
            raise self.fail("id", f"must match the file name ('{self.path.stem}', got '{board_id}')")
        core = self.string(data["core"], "core", tuple(CORES))
        arch = self.string(data["arch"], "arch", tuple(sorted(set(CORES.values()))))
        if CORES[core] != arch:
            raise self.fail("arch", f"must be '{CORES[core]}' for core {core} (got '{arch}')")
        cflags = data["cflags"]
        if not isinstance(cflags, list) or not all(isinstance(f, str) and f for f in cflags):
            raise self.fail("cflags", "must be a list of compiler flags")
        notes = data.get("notes", "")
        if not isinstance(notes, str):
            raise self.fail("notes", "must be a string")
        return Board(
            id=board_id,
            name=self.string(data["name"], "name"),
            core=core,
            arch=arch,
            toolchain=self.string(data["toolchain"], "toolchain"),
            cflags=tuple(cflags),
            flash_kib=self.positive(data["flash_kib"], "flash_kib"),
            ram_kib=self.positive(data["ram_kib"], "ram_kib"),
            clock_mhz=self.positive(data["clock_mhz"], "clock_mhz"),
            kernels=self.string(data["kernels"], "kernels", KERNEL_SETS),
            qemu=self.qemu(data["qemu"], arch),
            platformio=self.platformio(data["platformio"]),
            notes=" ".join(notes.split()),
            path=self.path,
        )

    def qemu(self, value: Any, arch: str) -> QemuTarget | None:
        if value is None:
            return None
        value = self.mapping(value, "qemu", _QEMU_FIELDS)
        machine = self.string(value["machine"], "qemu.machine", tuple(QEMU_MACHINES))
        if QEMU_MACHINES[machine] != arch:
            raise self.fail("qemu.machine", f"emulates {QEMU_MACHINES[machine]}, not {arch}")
        return QemuTarget(
            machine=machine,
            flash_origin=self.address(value["flash_origin"], "qemu.flash_origin"),
            ram_origin=self.address(value["ram_origin"], "qemu.ram_origin"),
            data_origin=self.address(value["data_origin"], "qemu.data_origin"),
            data_kib=self.positive(value["data_kib"], "qemu.data_kib"),
        )

    def platformio(self, value: Any) -> PlatformIOTarget | None:
        if value is None:
            return None
        value = self.mapping(value, "platformio", _PIO_FIELDS)
        return PlatformIOTarget(
            platform=self.string(value["platform"], "platformio.platform"),
            board=self.string(value["board"], "platformio.board"),
            framework=self.string(value["framework"], "platformio.framework"),
        )
