"""``tinyc firmware``: a ready PlatformIO project that runs a model on one board, and building and running
it with tinyc's PlatformIO core folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import Board, load_board
from tinyc.errors import InputError, TinycError, ToolchainError
from tinyc.platformio.core import run_pio
from tinyc.platformio.devplatform import write_if_changed
from tinyc.platformio.expected import bundled_records, expected_header
from tinyc.platformio.project import (
    EXPECTED_HEADER,
    INPUTS_HEADER,
    MARKER,
    default_env,
    qemu_env,
    write_project_files,
)
from tinyc.targets.firmware import INPUT_ALIGN, input_stride
from tinyc.targets.library import open_library, pack_records, record_layout

LIB_DIR = "lib/model"


@dataclass(frozen=True)
class FirmwareProject:
    path: Path
    board: Board
    name: str  # the model's C name
    default_env: str  # the real board's environment (a plain `pio run`), if it has a PlatformIO board
    num_inputs: int  # records in src/tinyc_inputs.h
    output_size: int  # bytes of one output record

    @property
    def emulated_env(self) -> str | None:
        """The ``<board>-qemu`` twin that builds offline and runs in QEMU (None for generate-only boards)."""
        return qemu_env(self.board) if self.board.emulated else None

    def elf(self, env: str | None = None) -> Path:
        """The ELF of ``env`` (default the emulated twin)."""
        env = env or self.emulated_env or self.default_env
        return self.path / ".pio" / "build" / env / "firmware.elf"


def inputs_header(batch: np.ndarray, input_size: int) -> str:
    """src/tinyc_inputs.h holding the raw bytes of ``batch`` ([N, ...], one record per row)."""
    raw = np.ascontiguousarray(batch).reshape(len(batch), -1).view(np.uint8)
    if raw.shape[1] != input_size:
        raise InputError(f"an input record is {raw.shape[1]} bytes, the model takes {input_size}")
    stride = input_stride(input_size)
    rows = []
    for record in raw:
        hexes = [f"0x{b:02x}" for b in record]
        body = ",\n".join("        " + ", ".join(hexes[i : i + 16]) for i in range(0, len(hexes), 16))
        rows.append("    {\n" + body + "\n    }")
    return (
        "/* The inputs the firmware runs, written by `tinyc firmware --inputs`: TINYC_NUM_INPUTS records of\n"
        f" * MODEL_INPUT_SIZE bytes, each padded to TINYC_INPUT_STRIDE ({INPUT_ALIGN}-byte multiple). "
        "Included once, by tinyc_app.c. */\n"
        "#ifndef TINYC_INPUTS_H\n#define TINYC_INPUTS_H\n\n#include <stdint.h>\n\n"
        '#include "model_glue.h"\n#include "tinyc_app.h"\n\n'
        f"#define TINYC_NUM_INPUTS {len(raw)}\n#define TINYC_INPUT_STRIDE {stride}\n"
        "#if TINYC_INPUT_STRIDE < MODEL_INPUT_SIZE\n#error \"tinyc_inputs.h was written for another model\"\n"
        "#endif\n\n"
        "static const uint8_t tinyc_inputs[TINYC_NUM_INPUTS][TINYC_INPUT_STRIDE] TINYC_INPUTS_ATTR = {\n"
        + ",\n".join(rows)
        + "\n};\n\n#endif /* TINYC_INPUTS_H */\n"
    )


def _check_target(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise TinycError(f"{out} exists and is not a folder")
    ini = out / "platformio.ini"
    if any(out.iterdir()) and not (ini.is_file() and ini.read_text(errors="replace").startswith(MARKER)):
        raise TinycError(f"{out} exists and is not a tinyc firmware project; not writing into it")


def create_firmware(
    model: str | Path,
    board_id: str,
    out: str | Path,
    *,
    inputs: np.ndarray | str | Path | None = None,
    name: str | None = None,
    patch: bool = False,
) -> FirmwareProject:
    """Write (or update) the PlatformIO project ``out`` running ``model`` on ``board_id``: its real
    environment (the default) and, for an emulated board, its ``-qemu`` twin, the model
    library in lib/model, and the app in src/ running ``inputs`` (an .npy file or array of the model's
    input shape, or N of them stacked; default one input of zero bytes). Files whose contents do not
    change keep their mtimes, so a rebuild after an unchanged update compiles nothing. ``patch``: the first
    layers in row bands where that pays (tinyc.memory.patch)."""
    from tinyc.pipeline import build_plan, compile_library, load_inputs, model_name

    out = Path(out)
    _check_target(out)
    board = load_board(board_id)
    plan = build_plan(model, patch)
    name = name or model_name(plan)
    lib_dir = out / LIB_DIR
    report = compile_library(plan, lib_dir, board.id, name)
    lib = open_library(lib_dir, name)
    input_size = record_layout([t["bytes"] for t in report["inputs"]])[1]
    header = None
    count = 1
    if inputs is not None:
        if isinstance(inputs, (str, Path)):
            batch = pack_records(load_inputs(plan.graph, inputs)[0])
        else:
            batch = np.asarray(inputs)
            shape = plan.graph.tensor(plan.graph.inputs[0]).shape
            batch = batch[np.newaxis] if batch.shape == tuple(shape) else batch
        header, count = inputs_header(batch, input_size), len(batch)
    elif (out / "src" / INPUTS_HEADER).is_file():
        found = re.search(r"#define TINYC_NUM_INPUTS (\d+)", (out / "src" / INPUTS_HEADER).read_text())
        count = int(found.group(1)) if found else 1
    write_project_files(out, [board], default_env(board), f"{name} on {board.id}", header)
    write_if_changed(out / "src" / "model_glue.h", lib.glue_header())
    bundled = bundled_records((out / "src" / INPUTS_HEADER).read_text(), input_size)
    write_if_changed(out / EXPECTED_HEADER, expected_header(plan, bundled))
    return FirmwareProject(out, board, name, default_env(board), count,
                           record_layout([t["bytes"] for t in report["outputs"]])[1])


def build_firmware(project: Path, env: str | None = None, *, target: str | None = None,
                   timeout: float = 600, core: Path | None = None) -> str:
    """``pio run`` in ``project`` (environment ``env``, default the project's default; ``target`` e.g.
    "upload"); returns its output, or raises a ToolchainError with the end of it."""
    args = ["run"] + (["-e", env] if env else []) + (["-t", target] if target else [])
    result = run_pio(args, project=Path(project), timeout=timeout, core=core)
    log = result.stdout + result.stderr
    if result.returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-15:])
        raise ToolchainError(f"pio {' '.join(args)} failed in {project}:\n{tail}")
    return log


def parse_outputs(text: str, output_size: int) -> tuple[np.ndarray, list[str]]:
    """The ``OUT`` records ([N, output_size] uint8) and ``TIME`` lines the firmware printed."""
    outputs, times = [], []
    for line in text.splitlines():
        tag, *fields = line.split() or [""]
        if tag == "OUT":
            if int(fields[0]) != len(outputs):
                raise ToolchainError(f"garbled firmware output: {line[:80]}")
            data = bytes.fromhex(fields[1]) if len(fields) > 1 else b""
            if len(data) != output_size:
                raise ToolchainError(f"an output record of {len(data)} bytes, expected {output_size}")
            outputs.append(np.frombuffer(data, dtype=np.uint8))
        elif tag == "TIME":
            times.append(line)
        elif tag == "ERR":
            raise TinycError(f"the model returned an error on the board: {line}")
    return np.array(outputs, dtype=np.uint8).reshape(len(outputs), output_size), times
