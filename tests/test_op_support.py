"""The op-support table: every TFLite operator the frontend takes is declared by the op that runs it, the list
of TFLM's operators is the installed tflite-micro's, and the README shows the table the registry gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tflite.BuiltinOperator import BuiltinOperator

from tinyc.frontends import tflite as frontend
from tinyc.frontends.tflite_signal import SIGNAL_OPS
from tinyc.ops import REGISTRY
from tinyc.ops.support import TFLM_OPS, implementers, markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"
BUILTINS = {k for k in vars(BuiltinOperator) if not k.startswith("_")}
NOT_TAKEN = {"IF", "WHILE", "ETHOSU"}  # control flow; a vendor NPU op


def frontend_operators() -> set[str]:
    return set(frontend.CONVERTERS) | set(SIGNAL_OPS) | set(frontend.CUSTOM_CONVERTERS)


def test_every_frontend_operator_is_declared_by_its_op() -> None:
    declared = set(implementers())
    assert frontend_operators() <= declared, sorted(frontend_operators() - declared)
    assert declared <= frontend_operators(), sorted(declared - frontend_operators())
    for op in REGISTRY.values():
        assert len(set(op.tflite)) == len(op.tflite), op.name


def test_tflm_list_is_what_tflite_micro_registers() -> None:
    micro = pytest.importorskip("tflite_micro")
    lib = next(Path(micro.__file__).parent.rglob("_runtime*.so"), None)
    if lib is None:
        pytest.skip("tflite-micro's _runtime library not found")
    text = lib.read_bytes()
    registered = {m.decode() for m in re.findall(rb"Register_([A-Z0-9_]+?)Ev", text)} & BUILTINS
    custom = rb"(?<![A-Za-z_])(CIRCULAR_BUFFER|TFLite_Detection_PostProcess|Signal[A-Za-z]+)\x00"
    customs = {m.decode() for m in re.findall(custom, text)}
    assert TFLM_OPS == (registered - NOT_TAKEN) | customs


def test_readme_shows_the_generated_table() -> None:
    assert markdown_table() in README.read_text(), "README's op table is stale: paste `tinyc ops --markdown`"
