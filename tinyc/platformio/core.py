"""A PlatformIO core folder owned by tinyc, and running `pio` with it.

tinyc never touches the user's ``~/.platformio``: every ``pio`` it runs gets ``PLATFORMIO_CORE_DIR`` =
``cache_dir()/platformio`` (or ``$TINYC_PLATFORMIO_CORE_DIR``), no upgrade check and no telemetry. The only
package PlatformIO itself needs to build, ``tool-scons``, is a shim there that runs the SCons installed
with pip (``pip install scons``), so builds for the local tinyc-qemu platform need no network. Platforms
from the registry (ststm32, espressif32, ...) still download on first use, on a machine with internet.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tinyc.atomic import write_text
from tinyc.errors import ToolchainError
from tinyc.targets.toolchain import cache_dir

CORE_ENV = "TINYC_PLATFORMIO_CORE_DIR"
SCONS_PACKAGE_VERSION = "4.41101.0"  # PlatformIO 6.2 wants tool-scons ~4.41101.0 (SCons 4.11.1)

SCONS_SHIM = '''\
"""tool-scons for PlatformIO, written by tinyc: runs the SCons installed with pip ({scons_dir})."""
import sys

try:
    import SCons.Script
except ImportError:  # a PlatformIO running on another Python: use the SCons tinyc found
    sys.path.append({scons_parent!r})
    import SCons.Script

if __name__ == "__main__":
    SCons.Script.main()
'''


def core_dir() -> Path:
    """``$TINYC_PLATFORMIO_CORE_DIR``, else ``cache_dir()/platformio``."""
    env = os.environ.get(CORE_ENV)
    return Path(env) if env else cache_dir() / "platformio"


def pio_environ(core: Path | None = None) -> dict[str, str]:
    """The variables every ``pio`` run by or for tinyc gets."""
    return {
        "PLATFORMIO_CORE_DIR": str(Path(core or core_dir()).resolve()),
        "PLATFORMIO_DISABLE_UPGRADE_CHECK": "true",
        "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "no",
    }


def export_lines(core: Path | None = None) -> str:
    """Shell lines that make a plain ``pio`` use tinyc's core folder:
    ``eval "$(tinyc firmware --setup-only)"``."""
    return "".join(f"export {k}={v}\n" for k, v in pio_environ(core).items())


def _scons_version_for_platformio() -> str:
    """The tool-scons version the installed PlatformIO asks for (e.g. "4.41101.0")."""
    try:
        from platformio.dependencies import get_core_dependencies
    except ImportError:
        return SCONS_PACKAGE_VERSION
    found = re.search(r"\d+\.\d+\.\d+", get_core_dependencies().get("tool-scons", ""))
    return found.group(0) if found else SCONS_PACKAGE_VERSION


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_text(path, text)


def setup_core(core: Path | None = None) -> Path:
    """Create (or refresh) tinyc's PlatformIO core folder with its offline tool-scons shim; return it."""
    spec = importlib.util.find_spec("SCons")
    if spec is None or not spec.submodule_search_locations:
        raise ToolchainError("SCons is not installed: pip install 'tinyc[platformio]'")
    scons_dir = Path(next(iter(spec.submodule_search_locations)))
    core = Path(core or core_dir()).resolve()
    package = core / "packages" / "tool-scons"
    version = _scons_version_for_platformio()
    manifest = {
        "name": "tool-scons",
        "version": version,
        "description": "SCons from pip, wrapped by tinyc for offline PlatformIO builds",
    }
    piopm = {
        "type": "tool",
        "name": "tool-scons",
        "version": version,
        "spec": {"owner": "platformio", "id": None, "name": "tool-scons", "requirements": None, "uri": None},
    }
    _write_if_changed(package / "package.json", json.dumps(manifest, indent=2) + "\n")
    _write_if_changed(package / ".piopm", json.dumps(piopm) + "\n")
    _write_if_changed(
        package / "scons.py", SCONS_SHIM.format(scons_dir=scons_dir, scons_parent=str(scons_dir.parent))
    )
    return core


def pio_command() -> list[str]:
    """How to start PlatformIO: this Python's ``platformio`` module."""
    if importlib.util.find_spec("platformio") is None:
        raise ToolchainError("PlatformIO is not installed: pip install 'tinyc[platformio]'")
    return [sys.executable, "-m", "platformio"]


def run_pio(
    args: Sequence[str | os.PathLike],
    *,
    project: Path | None = None,
    core: Path | None = None,
    timeout: float | None = 600,
    capture: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``pio ARGS`` (in ``project`` if given) with tinyc's core folder; returns the finished process
    (its output captured unless ``capture`` is false). A ToolchainError if it runs past ``timeout``."""
    env = {**os.environ, **pio_environ(setup_core(core))}
    cmd = [*pio_command(), *(str(a) for a in args)]
    try:
        return subprocess.run(
            cmd, cwd=project, env=env, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            capture_output=capture,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"pio {' '.join(map(str, args))} timed out after {timeout:g} s") from exc
