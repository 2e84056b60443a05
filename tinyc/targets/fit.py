"""Does a model fit on a board?"""

from __future__ import annotations

from tinyc.boards import Board
from tinyc.errors import TinycError


def _kib(n: int) -> int:
    return -(-n // 1024)


def fit_problems(board: Board, flash_bytes: int, ram_bytes: int) -> list[str]:
    """What does not fit, one phrase per memory (empty if everything fits)."""
    problems = []
    if flash_bytes > board.flash_bytes:
        problems.append(f"model needs {_kib(flash_bytes)} KiB of flash, {board.id} has {board.flash_kib} KiB")
    if ram_bytes > board.ram_bytes:
        problems.append(f"model needs {_kib(ram_bytes)} KiB of RAM, {board.id} has {board.ram_kib} KiB")
    return problems


def check_fit(board: Board, flash_bytes: int, ram_bytes: int) -> None:
    """Raise a TinycError such as "model needs 300 KiB of RAM, rpi-pico has 264 KiB" if it does not fit."""
    problems = fit_problems(board, flash_bytes, ram_bytes)
    if problems:
        raise TinycError("; ".join(problems))
