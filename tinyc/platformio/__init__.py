"""PlatformIO projects for compiled models: tinyc's own PlatformIO core folder (offline shims), the local
``tinyc-qemu`` development platform for the emulated boards, and ``tinyc firmware``."""

from tinyc.platformio.core import core_dir, export_lines, pio_environ, run_pio, setup_core
from tinyc.platformio.devplatform import board_manifest, write_platform
from tinyc.platformio.firmware import FirmwareProject, build_firmware, create_firmware, parse_outputs
from tinyc.platformio.project import render_platformio_ini, update_repo_firmware

__all__ = [
    "FirmwareProject",
    "board_manifest",
    "build_firmware",
    "core_dir",
    "create_firmware",
    "export_lines",
    "parse_outputs",
    "pio_environ",
    "render_platformio_ini",
    "run_pio",
    "setup_core",
    "update_repo_firmware",
    "write_platform",
]
