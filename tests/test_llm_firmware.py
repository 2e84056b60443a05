"""The language model is a model like the others: `tinyc inspect stories260K.bin` summarises it, its library
output has library.json and a CMakeLists.txt whose host story program prints what `tinyc generate` prints,
and `tinyc firmware stories260K.bin --board rpi-pico` is a PlatformIO project that tells, in QEMU, the same
story as `tinyc generate` (int8, greedy, 64 positions, with and without a prompt)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinyc.cli import main
from tinyc.llm import QuantScheme, load_checkpoint, lower
from tinyc.platformio import run_pio

STORIES = "llm/stories260K.bin"
TOKENIZER = "llm/tok512.bin"
STEPS = 64


def tinyc(*args: str | Path) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def generated(models_dir: Path, prompt: str = "") -> str:
    return tinyc("generate", models_dir / STORIES, "--tokenizer", models_dir / TOKENIZER, "--steps", STEPS,
                 "--quant", "int8", "--prompt", prompt)


def test_inspect(models_dir: Path) -> None:
    ckpt = load_checkpoint(models_dir / STORIES)
    summary = json.loads(tinyc("inspect", models_dir / STORIES, "--json"))
    c = ckpt.config
    assert summary["config"] == {"dim": c.dim, "hidden_dim": c.hidden_dim, "n_layers": c.n_layers,
                                 "n_heads": c.n_heads, "n_kv_heads": c.n_kv_heads, "vocab_size": c.vocab_size,
                                 "seq_len": c.seq_len, "shared_classifier": c.shared_classifier}
    assert summary["params"] == ckpt.n_params == sum(w["params"] for w in summary["weights"])
    assert summary["bytes"] == 4 * ckpt.n_params
    assert summary["memory"]["int8"] == lower(ckpt, QuantScheme.named("int8"), context=c.seq_len).memory_report()
    table = tinyc("inspect", models_dir / STORIES)
    assert f"dim {c.dim}, hidden {c.hidden_dim}, {c.n_layers} layers" in table
    assert f"{ckpt.n_params:,} parameters" in table


def test_library_files_and_cmake_story(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "lib"
    tinyc("compile", models_dir / STORIES, "--tokenizer", models_dir / TOKENIZER, "--context", STEPS, "-o", out)
    manifest = json.loads((out / "library.json").read_text())
    assert manifest["build"]["srcFilter"] == ["+<model.c>"] and "-ffp-contract=off" in manifest["build"]["flags"]
    report = json.loads((out / "report.json").read_text())
    assert {"library.json", "CMakeLists.txt"} <= set(report["files"])
    if shutil.which("cmake") is None or shutil.which("cc") is None:
        pytest.skip("cmake or cc not installed")
    subprocess.run(["cmake", "-S", out, "-B", tmp_path / "build", "-DCMAKE_BUILD_TYPE=Release"], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", tmp_path / "build"], check=True, capture_output=True)
    story = subprocess.run([tmp_path / "build" / "model_story"], capture_output=True, text=True, check=True,
                           timeout=120).stdout
    assert story == generated(models_dir)


@pytest.mark.parametrize("prompt", ["", "Lily and Ben"])
def test_firmware_tells_the_story_in_qemu(models_dir: Path, tmp_path: Path, prompt: str) -> None:
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    project = tmp_path / "pico"
    tinyc("firmware", models_dir / STORIES, "--board", "rpi-pico", "-o", project, "--tokenizer",
          models_dir / TOKENIZER, "--steps", STEPS, "--prompt", prompt)
    ini = (project / "platformio.ini").read_text()
    assert "default_envs = rpi-pico\n" in ini and "[env:rpi-pico-qemu]" in ini
    result = run_pio(["run", "-e", "rpi-pico-qemu", "-t", "upload"], project=project)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    story = result.stdout.split("firmware.elf in QEMU\n", 1)[1].split("\n=====", 1)[0] + "\n"
    assert story == generated(models_dir, prompt)


def test_checkpoint_needs_tokenizer(models_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["firmware", str(models_dir / STORIES), "--board", "rpi-pico", "-o",
                                       str(tmp_path / "p")])
    assert result.exit_code == 2 and "give its --tokenizer" in result.output
    assert not (tmp_path / "p").exists()
