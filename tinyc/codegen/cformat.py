"""C spelling of Python values: identifiers, types, scalar literals and (large, fast) array initialisers."""

from __future__ import annotations

import hashlib
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

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if inline int "
    "long register restrict return short signed sizeof static struct switch typedef union unsigned void "
    "volatile while _Bool _Complex _Imaginary".split())
MODEL_NAME_MAX = 40  # <NAME>_OUTPUT<k>_ZERO_POINT stays within C99's 63 significant characters
# File stems a model's `<name>.h` / `<name>.c` must not take: headers the generated library, the harnesses and
# the firmware ports include (the library folder is on the include path, so `<name>.h` would shadow
# <stdint.h>), and files written next to the library.
RESERVED_STEMS = frozenset(
    "assert complex ctype errno fenv float inttypes iso646 limits locale math setjmp signal stdalign stdarg "
    "stdatomic stdbool stddef stdint stdio stdlib stdnoreturn string tgmath threads time uchar wchar wctype "
    "unistd arm_acle arm_mve arm_math arduino sdkconfig esp_cpu harness model_glue main port_host runner".split())
_RESERVED_PREFIX = re.compile(r"^(tinyc|tl)(_|$)", re.IGNORECASE)  # tinyc's own names: tinyc_*, TINYC_*, tl_*
COMMENT_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-.,:;()[]{}<>=+#@!&|~^")
COMMENT_MAX = 160  # characters of a c_comment before it is cut
STRING_SAFE = frozenset(chr(b) for b in range(0x20, 0x7F)) - set('"\\?')


def c_type(dtype: str | np.dtype) -> str:
    key = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    try:
        return C_TYPES[key]
    except KeyError:
        raise TinycError(f"no C type for dtype {key}") from None


def c_identifier(text: str) -> str:
    """A C identifier made from any text: every character but ASCII letters, digits and '_' becomes '_', one
    that does not start with a letter gets an 'x' in front (no reserved `_X` or `__` start), a keyword a '_'."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", text)
    ident = ident if ident[:1].isalpha() else "x" + ident
    return ident + "_" if ident in C_KEYWORDS else ident


def model_name_problem(name: str, harness: bool = True) -> str | None:
    """Why `name` cannot be the C prefix of a library (None if it can). It is used as `<name>_run`,
    `<NAME>_INPUT_SIZE`, `<NAME>_H`, `<name>.h` and `<name>.c`, so it must be an ASCII identifier starting with
    a letter (a leading '_' is reserved to the implementation), without '__' (reserved in C++, which includes
    the header), not a keyword, not tinyc's own prefix (tinyc_, tl_) and not the stem of a header the build
    includes or a file written next to it; with `harness` (the model libraries, whose harness glue defines
    MODEL_RUN, MODEL_INPUT_SIZE and MODEL_OUTPUT_SIZE) not `model` either."""
    if not _IDENT.match(name):
        return "is not a C identifier starting with a letter (use ASCII letters, digits and '_')"
    if len(name) > MODEL_NAME_MAX:
        return f"is longer than {MODEL_NAME_MAX} characters"
    if "__" in name:
        return "contains '__' (reserved in C++)"
    if name in C_KEYWORDS:
        return "is a C keyword"
    if _RESERVED_PREFIX.match(name):
        return "starts with tinyc's own prefix (tinyc_, tl_)"
    if name.lower() in RESERVED_STEMS:
        return "is the name of a header or file the build uses"
    if harness and name.upper() == "MODEL":
        return "would define the harness's MODEL_INPUT_SIZE (use another name)"
    return None


def check_model_name(name: str) -> str:
    problem = model_name_problem(name)
    if problem is not None:
        raise TinycError(f"model name {name[:60]!r} {problem}; e.g. '{model_identifier(name)}'")
    return name


def model_identifier(text: str) -> str:
    """A model name check_model_name accepts, made from any text (a file stem, a graph name): lower case,
    c_identifier, runs of '_' joined, cut to MODEL_NAME_MAX; with an `m_` in front when that is not valid
    (`model`, `int`, `stdio`, `tinyc_x`), `net` when it is not valid either."""
    if not re.search(r"[A-Za-z0-9]", text):
        return "net"
    ident = re.sub(r"_+", "_", c_identifier(text.lower())).rstrip("_")
    for name in (ident[:MODEL_NAME_MAX].rstrip("_"), f"m_{ident}"[:MODEL_NAME_MAX].rstrip("_")):
        if model_name_problem(name) is None:
            return name
    return "net"


def c_comment(text: object, limit: int = COMMENT_MAX) -> str:
    """Any text (str, bytes or other object) as a form that is safe anywhere inside a C comment, by construction.

    Every character of the text that is in COMMENT_SAFE (ASCII letters, digits, space and
    `_-.,:;()[]{}<>=+#@!&|~^`) is kept; every other byte of its UTF-8 encoding (surrogates passed through)
    becomes `%XX` (two upper-case hex digits); the result is cut to `limit` characters, at an escape boundary,
    and a cut one ends in `%...` and 8 hex digits of the text's SHA-256.

    Proof of safety: the output holds only COMMENT_SAFE characters, '%', and (in a cut) '.' and hex digits.
    None of them is '*', '/', '\\', '?', a quote, a newline or any other control or non-ASCII character, so
    the output contains no comment end `*/`, no `/*` or `//`, no trigraph (they all start with `??`), no line
    splice or universal character name (both need a backslash) and no line end; and as it holds no '*' and
    no '/' at all, it cannot form one with the template text around it either. So it stays one line of comment
    text in a `/* */` or `//` comment (and in a `;` or `#` comment of an ini or CMake file).

    Injectivity (for outputs not cut): '%' itself is escaped, so the output is a prefix code of the UTF-8 bytes:
    reading it left to right, '%' and two hex digits give one byte, any other character the byte of that
    character; UTF-8 with surrogatepass is injective on str, so distinct texts give distinct comments.
    """
    if isinstance(text, (bytes, bytearray)):
        data = bytes(text)
    else:
        data = str(text).encode("utf-8", "surrogatepass")
    pieces = [chr(b) if chr(b) in COMMENT_SAFE else f"%{b:02X}" for b in data]
    escaped = "".join(pieces)
    if len(escaped) <= limit:
        return escaped
    digest = hashlib.sha256(data).hexdigest()[:8]
    keep, size = [], 0
    for piece in pieces:
        if size + len(piece) > max(limit - 12, 0):
            break
        keep.append(piece)
        size += len(piece)
    return "".join(keep) + "%..." + digest


def c_string(data: bytes | str) -> str:
    """Bytes (or str, as UTF-8) as a C string literal: printable ASCII but '"', '\\' and '?' (no trigraph can
    form) as is, every other byte as a three-digit octal escape (so a following digit is never taken into it)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    return '"' + "".join(chr(b) if chr(b) in STRING_SAFE else f"\\{b:03o}" for b in raw) + '"'


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
    if flat.dtype == np.bool_:
        flat = flat.astype(np.uint8)  # 0 or 1, as a TFLite bool
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
