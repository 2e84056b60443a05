"""Build a generated model library (see :mod:`tinyc.targets.library`) with the host C compiler and run
it on a batch of inputs.

Runners are cached under ``cache_dir()/host`` by a hash of every source, header, flag and the compiler,
so a second run of the same library costs one process start.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.errors import InputError, ToolchainError
from tinyc.targets.library import HARNESS_DIR, open_library
from tinyc.targets.toolchain import cached_build, digest, first_error, host_cc, run_tool

HOST_CFLAGS = ("-std=c99", "-ffp-contract=off", "-Wall", "-Wextra")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")


@dataclass(frozen=True)
class ModelSizes:
    input: int  # bytes per inference, all inputs
    output: int  # bytes per inference, all outputs


def build_host_runner(
    lib_dir: Path, name: str, *, opt: str = "-O2", cflags: Sequence[str] = (), sanitize: bool = False
) -> Path:
    """The host runner executable for the library (built once, then cached)."""
    lib = open_library(lib_dir, name)
    cc = host_cc()
    flags = [opt, *HOST_CFLAGS, *cflags, *(SANITIZE_FLAGS if sanitize else ())]
    runner_c = HARNESS_DIR / "host_main.c"
    key = digest(cc, *flags, runner_c.read_bytes(), *lib.digest_parts())

    def build(folder: Path) -> None:
        (folder / "model_glue.h").write_text(lib.glue_header())
        includes = [f"-I{folder}", f"-I{lib.lib_dir}"]
        cmd = [cc, *flags, *includes, "-o", folder / "runner", runner_c, *lib.sources, "-lm"]
        run_tool(cmd, f"building {name} on the host with {Path(cc).name}", timeout=300)

    return cached_build("host", key, build, "runner")


def model_sizes(lib_dir: Path, name: str) -> ModelSizes:
    """Bytes of input and of output per inference, as the library's header defines them."""
    runner = build_host_runner(lib_dir, name)
    result = run_tool([runner, "--sizes"], f"querying the sizes of {name}", timeout=30)
    input_size, output_size = (int(v) for v in result.stdout.split())
    return ModelSizes(input_size, output_size)


def as_batch(inputs: np.ndarray, sizes: ModelSizes, name: str) -> np.ndarray:
    """``inputs`` as C-contiguous int8 bytes [N, input bytes]. Rows are taken as their raw bytes (int8 for
    int8 models, float32 for float ones); a single input may be given without the N axis."""
    inputs = np.ascontiguousarray(inputs)
    if inputs.dtype.kind not in "iuf":
        raise InputError(f"inputs for {name} must be a numeric array, got {inputs.dtype}")
    if inputs.size == 0:
        raise InputError(f"no inputs given for {name}")
    rows = 1 if inputs.nbytes == sizes.input else inputs.shape[0]
    batch = inputs.reshape(rows, -1).view(np.int8)
    if batch.shape[1] != sizes.input:
        raise InputError(f"inputs for {name} have {batch.shape[1]} bytes each, the model takes {sizes.input}")
    return batch


def run_host(
    lib_dir: Path,
    name: str,
    inputs: np.ndarray,
    *,
    opt: str = "-O2",
    cflags: Sequence[str] = (),
    sanitize: bool = False,
    sequence: bool = False,
    timeout: float = 300.0,
    output_dtype: np.dtype | type = np.int8,
) -> np.ndarray:
    """Run the library on the host on each row of ``inputs`` ([N, input elements]).

    Returns [N, output bytes / itemsize] of ``output_dtype``. ``sanitize`` builds with ASan and UBSan;
    any finding is an error. Each row is an independent inference (recurrent state reset before it), or with
    ``sequence`` the rows are consecutive steps of one stream.
    """
    runner = build_host_runner(lib_dir, name, opt=opt, cflags=cflags, sanitize=sanitize)
    sizes = model_sizes(lib_dir, name)
    batch = as_batch(inputs, sizes, name)
    with tempfile.TemporaryDirectory(prefix="tinyc-host-") as tmp:
        in_path, out_path = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        in_path.write_bytes(batch.tobytes())
        try:
            command = [runner, in_path, out_path, *(["--sequence"] if sequence else [])]
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ToolchainError(f"{name} on the host timed out after {timeout:g} s") from exc
        if result.returncode != 0:
            raise ToolchainError(
                f"{name} on the host failed (exit {result.returncode}): {first_error(result.stderr)}"
            )
        outputs = np.fromfile(out_path, dtype=np.int8)
    return outputs.reshape(batch.shape[0], sizes.output).view(output_dtype)
