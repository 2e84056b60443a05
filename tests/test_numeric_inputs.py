"""Numeric inputs: NaN, infinite and out-of-range option values are one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, invoke

REPO = Path(__file__).resolve().parents[1]
SINE = REPO / "examples" / "sine.onnx"

BAD_OPTIONS = [
    ("generate", "--temperature", ["nan", "inf", "-inf", "-1", "-0.5"]),
    ("generate", "--topp", ["nan", "inf", "0", "-1", "2", "1.0001"]),
    ("quantize", "--percentile", ["nan", "inf", "50", "100.5", "-3"]),
    ("prune", "--sparsity", ["nan", "inf", "-0.1", "1", "1.5"]),
    ("bench", "--tolerance", ["nan", "inf", "-0.01"]),
    ("bench", "--timeout", ["nan", "inf", "0", "-5"]),
    ("bench", "--seed", ["-1"]),
]


def _args(command: str, option: str, value: str, tmp: Path) -> list[str]:
    model = str(SINE)
    return {
        "generate": ["generate", str(tmp / "m.bin"), "--tokenizer", str(tmp / "t.bin")],
        "quantize": ["quantize", model, "--calib", str(tmp / "c.npy"), "-o", str(tmp / "q.tflite"),
                     "--method", "percentile"],
        "prune": ["prune", model, "-o", str(tmp / "p.tflite")],
        "bench": ["bench", "-m", model, "-b", "host"],
    }[command] + [f"{option}={value}"]


@pytest.mark.parametrize("command, option, value",
                         [(c, o, v) for c, o, values in BAD_OPTIONS for v in values])
def test_bad_numbers_are_one_line_errors(command: str, option: str, value: str, tmp_path: Path) -> None:
    code, err, _ = invoke(*_args(command, option, value, tmp_path))
    assert_one_line_error(code, err, option)
    assert not list(tmp_path.iterdir())  # nothing was run, nothing written


@pytest.mark.parametrize("command, option, value", [("generate", "--topp", "1"), ("generate", "--temperature", "0"),
                                                     ("prune", "--sparsity", "0"), ("quantize", "--percentile",
                                                                                       "100")])
def test_edge_values_are_accepted(command: str, option: str, value: str, tmp_path: Path) -> None:
    code, err, _ = invoke(*_args(command, option, value, tmp_path))
    assert option not in err  # the option passed; the command fails later on its missing files
