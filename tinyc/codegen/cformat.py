"""C spelling of Python values: identifiers, types, scalar literals and (large, fast) array initialisers."""

from __future__ import annotations

import math
import re

import numpy as np

from tinyc.errors import TinycError

C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "uint32": "uint32_t",
    "uint64": "uint64_t",
    "float32": "float",
    "bool": "uint8_t",  # one byte holding 0 or 1, as TFLite stores a bool
}

PER_LINE = 24  # array values per line

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if inline int "
    "long register restrict return short signed sizeof static struct switch typedef union unsigned void "
    "volatile while _Bool _Complex _Imaginary".split())


def c_type(dtype: str | np.dtype) -> str:
    key = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    try:
        return C_TYPES[key]
    except KeyError:
        raise TinycError(f"no C type for dtype {key}") from None


def c_identifier(text: str) -> str:
    """A C identifier made from any text: invalid characters become '_', a leading digit gets a '_'."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", text) or "_"
    if ident[0].isdigit():
        ident = "_" + ident
    return ident + "_" if ident in C_KEYWORDS else ident


def check_model_name(name: str) -> str:
    if not _IDENT.match(name) or name in C_KEYWORDS:
        raise TinycError(f"model name '{name}' is not a C identifier (use letters, digits and '_', "
                         f"e.g. '{c_identifier(name)}')")
    return name


def c_int(value: int) -> str:
    value = int(value)
    if value == -(2**31):
        return "(-2147483647 - 1)"
    if not -(2**31) < value < 2**31:
        raise TinycError(f"integer {value} does not fit in int32")
    return str(value)


def c_float(value: float) -> str:
    """A float literal that reads back as exactly the same float32."""
    f = float(np.float32(value))
    if math.isnan(f):
        return "NAN"
    if math.isinf(f):
        return "INFINITY" if f > 0 else "(-INFINITY)"
    return _fix_float(f"{f:.9g}")


def _fix_float(text: str) -> str:
    if "." not in text and "e" not in text:
        text += ".0"
    return text + "f"


def c_literals(values: np.ndarray) -> list[str]:
    """Every element of an array as a C literal, in C (row-major) order."""
    flat = np.ascontiguousarray(values).reshape(-1)
    if flat.dtype.kind in "iu":
        if flat.dtype.itemsize >= 4 and flat.size and (int(flat.min()) == -(2**31)):
            return [c_int(v) for v in flat.tolist()]
        return [str(v) for v in flat.tolist()]
    if flat.dtype == np.float32:
        if not np.all(np.isfinite(flat)):
            return [c_float(v) for v in flat.tolist()]
        return [_fix_float(s) for s in np.char.mod("%.9g", flat.astype(np.float64)).tolist()]
    raise TinycError(f"cannot print an array of dtype {flat.dtype} as C")


def c_initializer(values: np.ndarray, indent: str = "    ") -> str:
    """The body of a C array initialiser: PER_LINE values a line."""
    lits = c_literals(values)
    if not lits:
        return "0"
    lines = [", ".join(lits[i:i + PER_LINE]) for i in range(0, len(lits), PER_LINE)]
    return indent + f",\n{indent}".join(lines)
