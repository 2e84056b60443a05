"""Build and run generated C: on the host, and on emulated boards under QEMU with exact instruction counts,
flash and RAM figures from the ELF. See :func:`run_host` and :func:`run_board`."""

from tinyc.targets.board import BoardRun, run_board
from tinyc.targets.elfsize import WEIGHT_SECTIONS, ImageSize, image_size, symbol_addresses
from tinyc.targets.firmware import build_program
from tinyc.targets.fit import check_fit, fit_problems
from tinyc.targets.host import ModelSizes, build_host_runner, model_sizes, run_host
from tinyc.targets.qemu import MARKERS, QemuRun, icount_plugin, run_qemu
from tinyc.targets.toolchain import cache_dir, cross_gcc, find_tool, host_cc

__all__ = [
    "MARKERS",
    "WEIGHT_SECTIONS",
    "BoardRun",
    "ImageSize",
    "ModelSizes",
    "QemuRun",
    "build_host_runner",
    "build_program",
    "cache_dir",
    "check_fit",
    "cross_gcc",
    "find_tool",
    "fit_problems",
    "host_cc",
    "icount_plugin",
    "image_size",
    "model_sizes",
    "run_board",
    "run_host",
    "run_qemu",
    "symbol_addresses",
]
