"""`tinyc compile` on a llama2.c checkpoint: a step-API library plus a main that prints the story."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.helpers import assert_one_line_error, invoke


@pytest.fixture
def llm(models_dir):
    return models_dir / "llm"


def test_compiled_checkpoint_prints_llama2c_story(llm, tmp_path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    out = tmp_path / "story_c"
    code, err, _ = invoke("compile", llm / "stories260K.bin", "--tokenizer", llm / "tok512.bin",
                          "--quant", "f32", "--context", 200, "-o", out)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    assert report["quant"].startswith("f32") and report["context"] == 200
    exe = tmp_path / "story"
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off",
                    *map(str, sorted(out.glob("*.c"))), "-o", str(exe), "-lm"], check=True)
    story = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    assert story.strip() == (llm / "stories260K_greedy200.txt").read_text().strip()


def test_int8_checkpoint_fits_the_pico_and_f32_does_not(llm, tmp_path) -> None:
    code, err, _ = invoke("compile", llm / "stories260K.bin", "--board", "rpi-pico", "-o", tmp_path / "q")
    assert code == 0, err
    assert json.loads((tmp_path / "q" / "report.json").read_text())["arena_bytes"] < 128 * 1024
    code, err, _ = invoke("compile", llm / "stories260K.bin", "--quant", "f32", "--board", "rpi-pico",
                          "-o", tmp_path / "f")
    assert_one_line_error(code, err, "KiB of RAM", "rpi-pico has 264 KiB")
    assert not (tmp_path / "f").exists()


def test_truncated_checkpoint_is_refused(llm, tmp_path) -> None:
    bad = tmp_path / "short.bin"
    bad.write_bytes((llm / "stories260K.bin").read_bytes()[:100_000])
    code, err, _ = invoke("compile", bad, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "short.bin")
    assert not (tmp_path / "out").exists()
