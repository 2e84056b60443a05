"""The Jinja2 environment of the C templates, with filters for C literals and (model text in) comments."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import jinja2

from tinyc.codegen.cformat import c_comment, c_float, c_int

TEMPLATES = Path(__file__).parent / "templates"


def file_name(path: object) -> str:
    """The last part of a path (the folders a model came from are no business of the generated C)."""
    return Path(str(path)).name


def c_scalar(value: object) -> str:
    """An int or float param as a C literal (floats as exact float32)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return c_int(value)
    return c_float(float(value))  # type: ignore[arg-type]


def is_finite(value: object) -> bool:
    return math.isfinite(float(value))  # type: ignore[arg-type]


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["c"] = c_scalar
    env.filters["ci"] = c_int
    env.filters["cf"] = c_float
    env.filters["comment"] = c_comment  # every model-derived text in a template goes through it
    env.filters["file_name"] = file_name
    env.globals["is_finite"] = is_finite
    return env


def template_exists(env: jinja2.Environment, name: str) -> bool:
    return (TEMPLATES / name).is_file()
