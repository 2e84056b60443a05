"""tinyc from a wheel, as a user gets it: built from the working tree, installed into a fresh venv outside the
checkout, run from an empty folder elsewhere: `tinyc boards`, `compile`, `run --target host`, `run --target
nucleo-l4r5zi`, `firmware --build` and `generate` (issue 15, Done when 1).

The wheel is built without build isolation from a copy of the files git sees (tracked and untracked, not
ignored), so nothing is written into the checkout. The venv's own site-packages gets the wheel alone
(`--no-deps`); its dependencies come from this interpreter's site-packages through a .pth line (read after
the venv's own packages, so `import tinyc` is the wheel's), which keeps the test offline and fast. The
wheel's declared requirements (with the `platformio` extra) are checked against what that provides.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement

from tinyc.boards import all_boards

from .conftest import REPO

SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "tinyc", "cython_kernels", "firmware",
           "boards")
N_INPUTS = 16


def run(cmd: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                             *SOURCES], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for rel in filter(None, listed.split("\0")):
        if (REPO / rel).is_file():  # a file deleted in the working tree is still in git's index
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, "."],
        cwd=src, env=dict(os.environ), timeout=600)
    (found,) = dist.glob("tinyc-*.whl")
    return found


@pytest.fixture(scope="module")
def user(wheel, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with the wheel installed, and the environment to run its `tinyc` in."""
    venv = tmp_path_factory.mktemp("venv")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", venv], check=True, capture_output=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "TINYC_BOARDS_DIR")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], cwd=venv, env=env)
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=venv, env=env)
    Path(purelib.strip(), "tinyc_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env["TINYC_PLATFORMIO_CORE_DIR"] = str(tmp_path_factory.mktemp("pio-core"))
    return venv, env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """An empty folder outside the checkout with the bundled sine model and some inputs."""
    work = tmp_path_factory.mktemp("user")
    shutil.copy(REPO / "examples" / "sine.onnx", work / "sine.onnx")
    np.save(work / "in.npy", np.linspace(-1.0, 7.0, N_INPUTS, dtype=np.float32).reshape(N_INPUTS, 1, 1))
    return work


def test_wheel_carries_firmware_boards_and_kernels(wheel) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for board in all_boards():
        assert f"tinyc/_data/boards/{board.id}.yaml" in names
    for rel in ("src/tinyc_app.c", "tinyc_glue.py", "platform/tinyc-qemu/builder/main.py", "harness/harness.h",
                "harness/icount_plugin.c", "harness/link.ld.in"):
        assert f"tinyc/_data/firmware/{rel}" in names
    assert not any(n.startswith("tinyc/_data/firmware/lib/") for n in names)  # no model library
    assert len([n for n in names if n.startswith("tinyc/_kernels/") and n.endswith(".so")]) == len(
        list((REPO / "cython_kernels").glob("*.pyx")))
    assert any(n.startswith("tinyc/codegen/templates/") and n.endswith(".j2") for n in names)


def test_declared_requirements_are_what_the_venv_gets(wheel, user) -> None:
    """Every Requires-Dist of the wheel (core and the platformio extra) is met by the venv's packages;
    none is an exact pin."""
    venv, env = user
    archive = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(archive.read(metadata).decode())
    reqs = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    assert not [str(r) for r in reqs if any(s.operator == "==" for s in r.specifier)]
    wanted = [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": "platformio"})]
    assert {r.name for r in wanted} >= {"numpy", "onnx", "platformio", "scons"}
    check = ("import sys, importlib.metadata as m\n"
             "for line in sys.argv[1:]:\n"
             "    name, spec = line.split(' ', 1)\n"
             "    print(name, m.version(name))\n")
    out = run([venv / "bin" / "python", "-c", check, *(f"{r.name} {r.specifier}" for r in wanted)], venv, env)
    versions = dict(line.split() for line in out.splitlines())
    for r in wanted:
        assert r.specifier.contains(versions[r.name], prereleases=True), (r, versions[r.name])


def test_tinyc_is_the_wheel(user, workdir) -> None:
    venv, env = user
    out = run(["python", "-c", "import tinyc, tinyc.resources as r; print(tinyc.__file__); print(r.firmware_dir())"],
              workdir, env)
    module, firmware = out.split()
    assert Path(module).is_relative_to(venv) and Path(firmware).is_relative_to(venv)
    assert not Path(module).is_relative_to(REPO)


def test_boards_lists_every_board_with_its_platformio_ids(user, workdir) -> None:
    _, env = user
    out = run(["tinyc", "boards"], workdir, env)
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    boards = all_boards()
    assert set(rows) == {b.id for b in boards}
    for board in boards:
        pio = board.platformio
        assert (f" {pio.platform}/{pio.board} " if pio else "  -  ") in rows[board.id], rows[board.id]


@pytest.fixture(scope="module")
def reference(user, workdir) -> np.ndarray:
    _, env = user
    run(["tinyc", "run", "sine.onnx", "-i", "in.npy", "-o", "ref.npy"], workdir, env)
    return np.load(workdir / "ref.npy")


def test_compile(user, workdir) -> None:
    _, env = user
    run(["tinyc", "compile", "sine.onnx", "--board", "nucleo-l4r5zi", "-o", "lib"], workdir, env)
    assert (workdir / "lib" / "report.json").is_file() and list((workdir / "lib").glob("*.c"))


@pytest.mark.parametrize("target", ["host", "nucleo-l4r5zi"])
def test_run_equals_the_reference(target, user, workdir, reference) -> None:
    _, env = user
    if target != "host" and not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")):
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm not installed")
    run(["tinyc", "run", "sine.onnx", "-i", "in.npy", "-o", f"{target}.npy", "--target", target], workdir, env)
    out = np.load(workdir / f"{target}.npy")
    assert out.shape == reference.shape and out.tobytes() == reference.tobytes()


def test_firmware_build(user, workdir) -> None:
    _, env = user
    if not shutil.which("arm-none-eabi-gcc"):
        pytest.skip("arm-none-eabi-gcc not installed")
    out = run(["tinyc", "firmware", "sine.onnx", "--board", "nucleo-l4r5zi", "-o", "fw", "--build"], workdir, env)
    assert "nucleo-l4r5zi-qemu" in out and "SUCCESS" in out
    assert (workdir / "fw" / ".pio" / "build" / "nucleo-l4r5zi-qemu" / "firmware.elf").is_file()


def test_generate(user, workdir, models_dir) -> None:
    _, env = user
    llm = models_dir / "llm"
    out = run(["tinyc", "generate", llm / "stories260K.bin", "--tokenizer", llm / "tok512.bin", "--steps", "200"],
              workdir, env)
    assert out == (llm / "stories260K_greedy200.txt").read_text().rstrip("\n") + "\n"


def test_no_boards_is_an_error(tmp_path, monkeypatch) -> None:
    """An install without its boards (or a wrong $TINYC_BOARDS_DIR) says so, instead of an empty list."""
    from click.testing import CliRunner

    from tinyc.cli import main

    monkeypatch.setenv("TINYC_BOARDS_DIR", str(tmp_path))
    for args in (["boards"], ["compile", str(REPO / "examples" / "sine.onnx"), "--board", "nucleo-l4r5zi",
                              "-o", str(tmp_path / "lib")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.output == f"tinyc: error: no board files (*.yaml) in $TINYC_BOARDS_DIR = {tmp_path}\n"
    assert not (tmp_path / "lib").exists()
