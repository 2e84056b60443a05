"""A generated model library as the targets see it, and the glue header that binds it to the harnesses.

The library in ``lib_dir`` is ``<name>.h`` plus top-level ``*.c`` files exposing
``int <name>_run(const T *input, U *output)`` with ``<NAME>_INPUT_SIZE`` and ``<NAME>_OUTPUT_SIZE`` (bytes).
A model with several inputs or outputs (``<NAME>_NUM_INPUTS 2`` ...) takes ``input0, input1, ..,
output0, ..`` sized by ``<NAME>_INPUT0_SIZE`` ...; the harnesses then see one record per inference,
all inputs (outputs) in order, each starting at a multiple of RECORD_ALIGN bytes (so a float after an odd
number of int8 bytes is still aligned), zero padding between them: see :func:`record_layout`.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from tinyc.errors import InputError
from tinyc.resources import firmware_dir, harness_dir

HARNESS_DIR = harness_dir()  # startup code, mains, linker script template, icount plugin
RECORD_ALIGN = 8  # bytes: where each input (output) of a record starts (also in firmware/tinyc_glue.py)


def record_layout(sizes: Sequence[int]) -> tuple[list[int], int]:
    """Offsets of the inputs (outputs) of the given byte sizes in one record, and the record's size."""
    offsets, end = [], 0
    for size in sizes:
        start = -(-end // RECORD_ALIGN) * RECORD_ALIGN
        offsets.append(start)
        end = start + int(size)
    return offsets, end


def pack_records(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """One [N, ...] array per input -> int8 records [N, record size] (see record_layout)."""
    rows = [np.ascontiguousarray(a).reshape(len(a), -1).view(np.int8) for a in arrays]
    offsets, total = record_layout([r.shape[1] for r in rows])
    records = np.zeros((len(rows[0]), total), dtype=np.int8)
    for row, offset in zip(rows, offsets, strict=True):
        records[:, offset : offset + row.shape[1]] = row
    return records


def split_records(records: np.ndarray, kinds: Sequence[tuple[np.dtype, tuple[int, ...]]]) -> list[np.ndarray]:
    """int8 records [N, record size] -> one [N, *shape] array of each (dtype, shape) in ``kinds``."""
    sizes = [int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize for dtype, shape in kinds]
    offsets, total = record_layout(sizes)
    if records.shape[1] != total:
        raise InputError(f"records of {records.shape[1]} bytes, the layout has {total}")
    return [np.ascontiguousarray(records[:, o : o + n]).view(dtype).reshape((len(records), *shape))
            for (dtype, shape), o, n in zip(kinds, offsets, sizes, strict=True)]


@dataclass(frozen=True)
class ModelLibrary:
    lib_dir: Path
    name: str
    sources: tuple[Path, ...]
    num_inputs: int
    num_outputs: int
    has_reset: bool = False  # the header declares <name>_reset() (recurrent state, see codegen model.h)

    def digest_parts(self) -> list[str | bytes]:
        """Names and contents of every .c and .h file, for cache keys."""
        parts: list[str | bytes] = [self.name]
        for path in sorted([*self.lib_dir.glob("*.c"), *self.lib_dir.glob("*.h")]):
            parts += [path.name, path.read_bytes()]
        return parts

    def glue_header(self) -> str:
        """``model_glue.h``: MODEL_RUN(in, out), MODEL_RESET(), MODEL_INPUT_SIZE and MODEL_OUTPUT_SIZE for the
        harnesses, ``in`` and ``out`` being one record of all inputs / all outputs (see record_layout); the
        text of firmware/tinyc_glue.py, which writes the same header in a PlatformIO build."""
        return _glue_script().glue_header(self.name, self.num_inputs, self.num_outputs, self.has_reset)


@functools.cache
def _glue_script() -> ModuleType:
    """firmware/tinyc_glue.py as a module (its PlatformIO part runs only under SCons)."""
    spec = importlib.util.spec_from_file_location("tinyc_glue", firmware_dir() / "tinyc_glue.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def open_library(lib_dir: Path, name: str) -> ModelLibrary:
    """The library ``name`` in ``lib_dir``; an InputError if its header or sources are missing."""
    lib_dir = Path(lib_dir).resolve()
    header = lib_dir / f"{name}.h"
    if not header.is_file():
        raise InputError(f"{lib_dir}: no {name}.h (is '{name}' the model name?)")
    sources = tuple(sorted(lib_dir.glob("*.c")))
    if not sources:
        raise InputError(f"{lib_dir}: no .c files")
    text = header.read_text(errors="replace")

    def count(kind: str) -> int:
        found = re.search(rf"^\s*#\s*define\s+{name.upper()}_NUM_{kind}\s+(\d+)", text, re.MULTILINE)
        return int(found.group(1)) if found else 1

    has_reset = re.search(rf"\b{name}_reset\s*\(\s*void\s*\)", text) is not None
    return ModelLibrary(lib_dir, name, sources, count("INPUTS"), count("OUTPUTS"), has_reset)
