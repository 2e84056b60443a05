"""Where tinyc finds the folders it ships beside its code: ``firmware/`` (the PlatformIO app, the tinyc-qemu
platform and the harness) and ``boards/`` (one YAML file per board).

Each has one source, the repository's top-level folder: a checkout or an editable install reads it there;
a wheel carries a copy as package data in ``tinyc/_data/`` (written by setup.py's build_py).
"""

from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "_data"


def data_dir(name: str) -> Path:
    """The shipped folder ``name`` ("firmware" or "boards"): the wheel's copy, else the checkout's."""
    packaged = PACKAGED / name
    return packaged if packaged.is_dir() else PACKAGED.parents[1] / name


def firmware_dir() -> Path:
    """``firmware/``: src/ (the app), tinyc_glue.py, platform/tinyc-qemu/ and harness/."""
    return data_dir("firmware")


def harness_dir() -> Path:
    """``firmware/harness/``: startup code, semihosting, the QEMU and host mains, the linker script
    template and the QEMU instruction-count plugin."""
    return firmware_dir() / "harness"
