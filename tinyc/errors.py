"""The one exception type users see: the CLI prints its message on one line and exits with code 2.

Text from a model (tensor, node and op names, file names) is untrusted: it goes into a message only
through `shown`, which escapes what is not printable and cuts it to a sane length. `one_line` is the
CLI's last guard over a whole message.
"""

from __future__ import annotations

import os

SHOWN_MAX = 80  # characters of one piece of model text in a message
PATH_MAX = 200  # characters of a file name in a message
MESSAGE_MAX = 1000  # characters of a whole error line
CUT = "...[cut]"


def _escape(ch: str) -> str:
    """A character as it may appear in a message: itself if printable, else its repr escape."""
    return ch if ch.isprintable() else repr(ch)[1:-1]


def _cut(text: str, limit: int) -> str:
    out: list[str] = []
    used = 0
    for ch in text:
        piece = _escape(ch)
        if used + len(piece) > limit:
            return "".join(out) + CUT
        out.append(piece)
        used += len(piece)
    return "".join(out)


def shown(text: object, limit: int = SHOWN_MAX) -> str:
    """Model text as it goes into a message: non-printables escaped repr-style, cut after `limit` characters.

    Bytes (a name that is not valid UTF-8) are decoded with replacement; paths by their file-system name.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    elif isinstance(text, os.PathLike):
        text = os.fspath(text)
    return _cut(str(text), limit)


def one_line(message: str, limit: int = MESSAGE_MAX) -> str:
    """A whole message as exactly one line of printable text (newlines and escapes shown as `\\n`, `\\x1b`)."""
    return _cut(message, limit)


class TinycError(Exception):
    """A problem with the user's input (model, data, board, toolchain), stated in one line."""


class ModelError(TinycError):
    """A model file that cannot be read: malformed, truncated, hostile or inconsistent."""


class UnsupportedOpError(TinycError):
    """An operator tinyc has no kernel for."""

    def __init__(self, op: str, node: str, source: str):
        super().__init__(f"unsupported op {shown(op)} in node '{shown(node)}' of {shown(source, PATH_MAX)}")


class UnsupportedDtypeError(UnsupportedOpError):
    """A tensor dtype the op has no kernel for (legacy uint8 quantization, int16 into an int8 kernel, ...)."""

    def __init__(self, dtype: str, tensor: str, op: str, node: str, source: str, supported: str):
        hint = "; legacy uint8 quantization: convert the model with int8 quantization" if "uint8" in dtype else ""
        TinycError.__init__(
            self, f"unsupported dtype {dtype} (tensor '{shown(tensor)}') for op {shown(op)} in node '{shown(node)}' "
                  f"of {shown(source, PATH_MAX)}; tinyc has {shown(op)} for {supported}{hint}")


class GraphError(TinycError):
    """An ill-formed IR graph (the verifier's findings)."""


class InputError(TinycError):
    """Input data that does not match the model (shape, dtype, contents)."""


class ToolchainError(TinycError):
    """A compiler, emulator or other external tool that is missing or failed."""
