"""External tools (compilers, QEMU), running them, and the build cache folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from tinyc.boards import Board
from tinyc.errors import ToolchainError

CACHE_ENV = "TINYC_CACHE"

#: tool -> Debian package that provides it
_PACKAGES = {
    "arm-none-eabi-gcc": "gcc-arm-none-eabi",
    "riscv64-unknown-elf-gcc": "gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf",
    "qemu-system-arm": "qemu-system-arm",
    "qemu-system-riscv32": "qemu-system-misc",
    "gcc": "gcc",
    "cc": "gcc",
}


class ToolFailed(ToolchainError):
    """A tool that ran and failed; ``log`` holds its whole output."""

    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


def find_tool(name: str) -> str:
    """The full path of ``name`` on PATH, or a ToolchainError saying how to install it."""
    path = shutil.which(name)
    if path is None:
        package = _PACKAGES.get(name)
        hint = f": install {package} (apt-get install {package})" if package else ""
        raise ToolchainError(f"{name} not found{hint}")
    return path


def cross_gcc(board: Board) -> str:
    """The GCC that builds for ``board``."""
    if board.arch == "xtensa":
        raise ToolchainError(
            f"{board.id}: {board.toolchain}-gcc is not available here; {board.id} is "
            "generate only (use its PlatformIO environment)"
        )
    return find_tool(f"{board.toolchain}-gcc")


def host_cc() -> str:
    """The host C compiler: ``$CC`` if set, else ``cc``."""
    return find_tool(os.environ.get("CC", "cc"))


def run_tool(
    cmd: Sequence[str | os.PathLike], what: str, *, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; if it fails, raise a one-line ToolFailed naming ``what`` and the first error."""
    try:
        result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"{what} timed out after {timeout:g} s") from exc
    if result.returncode != 0:
        log = result.stderr or result.stdout
        raise ToolFailed(f"{what} failed: {first_error(log)}", log)
    return result


def first_error(log: str) -> str:
    """The most telling line of a compiler or linker log."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower() or "undefined reference" in line:
            return line
    return lines[-1] if lines else "no output"


def cache_dir() -> Path:
    """``$TINYC_CACHE``, else ``~/.cache/tinyc``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "tinyc"


def digest(*parts: str | bytes) -> str:
    """A short content hash of ``parts`` (a cache key)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:24]


def cached_build(kind: str, key: str, build: Callable[[Path], None], product: str) -> Path:
    """``cache_dir()/kind/key/product``, made by ``build(folder)`` into a fresh folder on first use.

    The folder is renamed into place when complete, so concurrent builders never see half a build.
    """
    final = cache_dir() / kind / key
    if not (final / product).exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=final.parent))
        try:
            build(tmp)
            try:
                tmp.rename(final)
            except OSError:  # another process finished first
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final / product
