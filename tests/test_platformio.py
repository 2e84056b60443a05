"""PlatformIO: `tinyc firmware` projects build offline with the local tinyc-qemu platform and print, in QEMU,
the reference runtime's outputs; firmware/ has an environment per board with its real PlatformIO ids; the
ESP32 (Xtensa) code compiles on the host as a proxy; an unchanged project does not rebuild.

Every `pio` here runs with a PlatformIO core folder of its own (tool-scons shim, no registry): only
`pio run` of -qemu environments and `pio project config`, which need no network.
"""

from __future__ import annotations

import filecmp
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinyc.boards import all_boards, load_board
from tinyc.cli import main
from tinyc.pipeline import build_plan, run_reference
from tinyc.platformio import (
    build_firmware,
    create_firmware,
    export_lines,
    parse_outputs,
    run_pio,
    setup_core,
    update_repo_firmware,
)
from tinyc.platformio.devplatform import board_manifest
from tinyc.platformio.project import APP_FILES, HARNESS_FILES, PLATFORM_DIR
from tinyc.targets import MARKERS, host_cc, run_qemu
from tinyc.targets.library import RECORD_ALIGN, _glue_script, open_library

from .conftest import MLPERF_INT8, REPO

FIRMWARE = REPO / "firmware"
KWS_BOARDS = ["nucleo-l4r5zi", "esp32-c3"]
N_INPUTS = 3

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("platformio") is None or importlib.util.find_spec("SCons") is None,
    reason="PlatformIO or SCons is not installed (pip install 'tinyc[platformio]')",
)


def needs_tools(board_id: str) -> None:
    board = load_board(board_id)
    missing = [t for t in (f"{board.toolchain}-gcc", board.qemu.system) if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


@pytest.fixture(scope="session")
def core(tmp_path_factory) -> Path:
    """A PlatformIO core folder for these tests only (one per xdist worker)."""
    return setup_core(tmp_path_factory.mktemp("pio-core"))


@pytest.fixture(scope="module")
def kws(models_dir) -> tuple[Path, object, np.ndarray, np.ndarray]:
    model = models_dir / MLPERF_INT8["kws"]
    plan = build_plan(model)
    shape = plan.graph.tensor(plan.graph.inputs[0]).shape
    batch = np.random.default_rng(7).integers(-128, 128, size=(N_INPUTS, *shape), dtype=np.int8)
    expected = run_reference(plan, batch).reshape(N_INPUTS, -1).view(np.uint8)
    return model, plan, batch, expected


@pytest.fixture(scope="module", params=KWS_BOARDS)
def kws_project(request, kws, core, tmp_path_factory):
    """`tinyc firmware` for KWS, then `pio run -e <board>-qemu` in the created folder."""
    needs_tools(request.param)
    model, _, batch, _ = kws
    out = tmp_path_factory.mktemp("fw") / f"kws-{request.param}"
    project = create_firmware(model, request.param, out, inputs=batch)
    (out / "src" / "model_glue.h").write_text("/* stale */\n")  # the project's pre-build script rewrites it
    log = build_firmware(out, project.emulated_env, core=core, timeout=300)
    return project, log


def test_pio_run_builds_the_qemu_env(kws_project) -> None:
    """The real board is the project's default environment; its -qemu twin builds offline."""
    project, log = kws_project
    board = project.board
    assert project.default_env == board.id and project.emulated_env == f"{board.id}-qemu"
    assert re.search(rf"^{re.escape(project.emulated_env)}\s+SUCCESS", log, re.MULTILINE), log[-2000:]
    assert f"Processing {board.id} " not in log  # the real board's environment (needs internet) was not built
    ini = (project.path / "platformio.ini").read_text()
    assert f"[platformio]\ndefault_envs = {board.id}\n" in ini
    pio = board.platformio
    assert f"[env:{board.id}]\n" in ini and f"platform = {pio.platform}\nboard = {pio.board}\n" in ini
    # the board's real sizes are the limits of the link and of PlatformIO's size check
    assert f"from {board.ram_bytes} bytes" in log and f"from {board.flash_bytes} bytes" in log
    glue = (project.path / "src" / "model_glue.h").read_text()
    assert glue == open_library(project.path / "lib" / "model", project.name).glue_header()


def test_firmware_in_qemu_equals_reference(kws_project, kws) -> None:
    project, _ = kws_project
    expected = kws[3]
    run = run_qemu(project.board, project.elf(), count_between=MARKERS, timeout=60)
    assert run.exit_code == 0, run.stderr
    outputs, times = parse_outputs(run.output, expected.shape[1])
    np.testing.assert_array_equal(outputs, expected)
    assert times == [f"TIME {i} n/a" for i in range(N_INPUTS)]  # QEMU has no cycle counter
    assert f"DONE {N_INPUTS}" in run.output
    assert len(run.instructions) == N_INPUTS and min(run.instructions) > 10_000


def test_upload_runs_the_firmware_in_qemu(kws_project, kws, core) -> None:
    project, _ = kws_project
    if project.board.id != "nucleo-l4r5zi":
        pytest.skip("one board is enough for the upload path")
    log = build_firmware(project.path, project.emulated_env, target="upload", core=core, timeout=300)
    outputs, _ = parse_outputs(log, kws[3].shape[1])
    np.testing.assert_array_equal(outputs, kws[3])
    assert "Running .pio/build/nucleo-l4r5zi-qemu/firmware.elf in QEMU" in log


def _build_products(project: Path, env: str) -> dict[Path, int]:
    build = project / ".pio" / "build" / env
    found = {p: p.stat().st_mtime_ns for p in build.rglob("*") if p.suffix in (".o", ".a", ".elf")}
    assert any(p.suffix == ".a" for p in found), f"no library archive under {build}"
    return found


def test_second_run_does_not_rebuild(kws_project, kws, core) -> None:
    project, _ = kws_project
    env = project.emulated_env
    before = _build_products(project.path, env)
    log = build_firmware(project.path, env, core=core, timeout=300)
    assert not re.search(r"^(Compiling|Archiving|Linking) ", log, re.MULTILINE), log[-2000:]
    assert _build_products(project.path, env) == before
    # writing the same project again (same model, same inputs) compiles nothing either
    create_firmware(kws[0], project.board.id, project.path, inputs=kws[2])
    log = build_firmware(project.path, env, core=core, timeout=300)
    assert not re.search(r"^(Compiling|Archiving|Linking) ", log, re.MULTILINE), log[-2000:]
    assert _build_products(project.path, env) == before


def project_envs(project: Path, core: Path) -> dict[str, dict]:
    result = run_pio(["project", "config", "--json-output"], project=project, core=core, timeout=120)
    assert result.returncode == 0, result.stderr
    return {section: dict(options) for section, options in json.loads(result.stdout)}


def test_firmware_config_lists_every_board(core) -> None:
    sections = project_envs(FIRMWARE, core)
    envs = {name[4:]: opts for name, opts in sections.items() if name.startswith("env:")}
    assert sections["platformio"]["default_envs"] == ["nucleo-l4r5zi"]
    expected = set()
    platform = f"symlink://{(FIRMWARE / PLATFORM_DIR).resolve()}"
    for board in all_boards():
        if board.platformio is not None:
            expected.add(board.id)
            pio = board.platformio
            assert envs[board.id]["platform"] == pio.platform, board.id
            assert envs[board.id]["board"] == pio.board, board.id
            assert envs[board.id]["framework"] == [pio.framework], board.id
        if board.emulated:
            expected.add(f"{board.id}-qemu")
            assert envs[f"{board.id}-qemu"]["platform"] == platform
            assert envs[f"{board.id}-qemu"]["board"] == board.id
            manifest = json.loads((FIRMWARE / PLATFORM_DIR / "boards" / f"{board.id}.json").read_text())
            assert manifest["upload"]["maximum_size"] == board.flash_bytes
            assert manifest["upload"]["maximum_ram_size"] == board.ram_bytes
    assert set(envs) == expected
    # the ids the issue names, as in boards/*.yaml
    assert (envs["nucleo-l4r5zi"]["platform"], envs["nucleo-l4r5zi"]["board"]) == ("ststm32", "nucleo_l4r5zi")
    assert (envs["esp32-s3"]["platform"], envs["esp32-s3"]["board"]) == ("espressif32", "esp32-s3-devkitc-1")
    assert (envs["esp32-c3"]["platform"], envs["esp32-c3"]["board"]) == ("espressif32", "esp32-c3-devkitm-1")
    assert (envs["rpi-pico"]["platform"], envs["rpi-pico"]["board"]) == ("raspberrypi", "pico")
    assert (envs["nrf52840dk"]["platform"], envs["nrf52840dk"]["board"]) == ("nordicnrf52", "nrf52840_dk")
    ini = (FIRMWARE / "platformio.ini").read_text()
    assert "; corstone-300: Arm Corstone-300 (Cortex-M55, MPS3 AN547) has no PlatformIO board" in ini


IGNORED = shutil.ignore_patterns(".pio", "lib", "model_glue.h", "__pycache__")  # firmware/.gitignore


def test_firmware_folder_is_up_to_date(tmp_path) -> None:
    """What firmware/ derives from boards/ is what `python -m tinyc.platformio.update_firmware` writes:
    running it on a copy changes, adds and removes nothing."""
    copy = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, copy, ignore=IGNORED)
    before = {p.relative_to(copy).as_posix(): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    update_repo_firmware(copy)
    after = {p.relative_to(copy).as_posix(): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    stale = sorted(p for p in before.keys() & after.keys() if before[p] != after[p])
    assert not stale and before.keys() == after.keys(), (
        f"firmware/ is out of date (differs: {stale}, missing: {sorted(after.keys() - before.keys())}, "
        f"extra: {sorted(before.keys() - after.keys())}): run python -m tinyc.platformio.update_firmware")


def test_projects_copy_firmware_sources(tmp_path) -> None:
    """A `tinyc firmware` project's app, glue script, platform scripts and harness are firmware/'s files."""
    project = create_firmware(REPO / "examples" / "sine.onnx", "nucleo-l4r5zi", tmp_path / "fw")
    copied = [f"src/{n}" for n in APP_FILES] + [f"harness/{n}" for n in HARNESS_FILES] + [
        "tinyc_glue.py", f"{PLATFORM_DIR}/platform.py", f"{PLATFORM_DIR}/builder/main.py"]
    for rel in copied:
        assert filecmp.cmp(project.path / rel, FIRMWARE / rel, shallow=False), rel
    assert _glue_script().RECORD_ALIGN == RECORD_ALIGN  # the glue script's records are the targets'


@pytest.fixture(scope="module")
def firmware_copy(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A copy of firmware/ somewhere else, and what its app prints when built for the host."""
    copy = tmp_path_factory.mktemp("clone") / "somewhere" / "firmware"
    shutil.copytree(FIRMWARE, copy, ignore=IGNORED)
    sine = REPO / "examples" / "sine.onnx"
    result = CliRunner().invoke(main, ["compile", str(sine), "--board", "nucleo-l4r5zi", "--name", "sine",
                                       "-o", str(copy / "lib" / "model")])
    assert result.exit_code == 0, result.output
    update_repo_firmware(copy)  # src/model_glue.h for the model in lib/model
    report = json.loads((copy / "lib" / "model" / "report.json").read_text())
    expected = host_app_outputs(copy / "lib" / "model", copy / "src", tmp_path_factory.mktemp("host"),
                                report["totals"]["output_bytes"])
    return copy, expected


def test_repo_firmware_from_a_copy(core, firmware_copy) -> None:
    """firmware/ works from any location (its platform path is ${PROJECT_DIR}-relative); `pio run -e
    nucleo-l4r5zi-qemu` builds, and a second one compiles nothing."""
    needs_tools("nucleo-l4r5zi")
    copy, _ = firmware_copy
    log = build_firmware(copy, "nucleo-l4r5zi-qemu", core=core, timeout=300)
    platform = f"symlink://{copy / PLATFORM_DIR}"
    assert f"Processing nucleo-l4r5zi-qemu (platform: {platform}; board: nucleo-l4r5zi)" in log
    assert re.search(r"^Compiling .*/model/sine\.o$", log, re.MULTILINE)
    log = build_firmware(copy, "nucleo-l4r5zi-qemu", core=core, timeout=300)
    assert not re.search(r"^(Compiling|Archiving|Linking) ", log, re.MULTILINE), log[-2000:]


@pytest.mark.parametrize("board", [b for b in all_boards() if b.emulated], ids=lambda b: b.id)
def test_repo_firmware_runs_on_every_emulated_board(board, core, firmware_copy) -> None:
    """`pio run -e <board>-qemu -t upload` builds offline and runs in QEMU, printing what the same app
    prints on the host."""
    needs_tools(board.id)
    copy, expected = firmware_copy
    log = build_firmware(copy, f"{board.id}-qemu", target="upload", core=core, timeout=300)
    outputs, times = parse_outputs(log, expected.shape[1])
    np.testing.assert_array_equal(outputs, expected)
    # the platform's QEMU run fills in the instructions of the inference (the firmware has no timer there)
    assert len(times) == 1 and re.fullmatch(r"TIME 0 [1-9]\d* instructions", times[0]) and "DONE 1" in log
    assert f"from {board.flash_bytes} bytes" in log and f"from {board.ram_bytes} bytes" in log


HOST_PORT = """\
#include <stdio.h>
#include "tinyc_app.h"
void tinyc_port_write(const char *text) { fputs(text, stdout); }
uint32_t tinyc_port_timer(void) { return 0; }
const char *tinyc_port_timer_unit(void) { return 0; }
uint32_t tinyc_port_cpu_hz(void) { return 0; }
int main(void) { return tinyc_app_run(); }
"""


def host_app_outputs(lib: Path, src: Path, work: Path, output_size: int) -> np.ndarray:
    """Build the firmware's app (src/: tinyc_app.c, every port, model_glue.h, tinyc_inputs.h) and the library
    in ``lib`` for the host with -std=c99 -Wall -Wextra -Werror and a stdout port; the outputs it prints."""
    (work / "host_port.c").write_text(HOST_PORT)
    cc = host_cc()
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-ffp-contract=off", f"-I{lib}", f"-I{src}"]
    app = [src / n for n in APP_FILES if n.endswith(".c")] + [work / "host_port.c"]
    objects = []
    for source in sorted(lib.glob("*.c")) + app:
        obj = work / f"{source.parent.name}_{source.stem}.o"
        subprocess.run([cc, *flags, "-c", source, "-o", obj], check=True, capture_output=True, text=True)
        objects.append(obj)
    exe = work / "app"
    subprocess.run([cc, *objects, "-lm", "-o", exe], check=True, capture_output=True, text=True)
    run = subprocess.run([exe], capture_output=True, text=True, timeout=60, check=True)
    return parse_outputs(run.stdout, output_size)[0]


@pytest.mark.parametrize("board_id", ["esp32", "esp32-s3"])
def test_xtensa_boards_compile_on_the_host(board_id, kws, tmp_path) -> None:
    """Not built here (no Xtensa toolchain): their environments exist and say so, and their generated C and
    the firmware's app compile with the host compiler under -std=c99 -Wall -Wextra -Werror and give the
    reference outputs."""
    board = load_board(board_id)
    assert board.qemu is None and board.platformio is not None
    ini = (FIRMWARE / "platformio.ini").read_text()
    section = ini.split(f"[env:{board_id}]\n", 1)[1].split("\n\n", 1)[0]
    assert "not built by tinyc here" in section
    assert f"platform = {board.platformio.platform}\nboard = {board.platformio.board}\n" in section
    assert f"[env:{board_id}-qemu]" not in ini

    model, _, batch, expected = kws
    project = create_firmware(model, board_id, tmp_path / "fw", inputs=batch, name="kws")
    assert project.default_env == board_id and not (project.path / "platform").exists()
    ini = (project.path / "platformio.ini").read_text()
    assert f"[env:{board_id}]\n" in ini and "-qemu]" not in ini and "not built by tinyc here" in ini
    lib = project.path / "lib" / "model"
    assert json.loads((lib / "report.json").read_text())["board"] == board_id
    work = tmp_path / "host"
    work.mkdir()
    outputs = host_app_outputs(lib, project.path / "src", work, expected.shape[1])
    np.testing.assert_array_equal(outputs, expected)


def test_board_manifest_refuses_boards_that_are_not_emulated() -> None:
    with pytest.raises(Exception, match="not emulated"):
        board_manifest(load_board("esp32"))


def test_setup_only_prints_the_core_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TINYC_PLATFORMIO_CORE_DIR", str(tmp_path / "core"))
    result = CliRunner().invoke(main, ["firmware", "--setup-only"])
    assert result.exit_code == 0, result.output
    assert export_lines(tmp_path / "core") in result.stdout
    assert f"export PLATFORMIO_CORE_DIR={(tmp_path / 'core').resolve()}" in result.stdout
    shim = tmp_path / "core" / "packages" / "tool-scons"
    assert json.loads((shim / ".piopm").read_text())["spec"]["owner"] == "platformio"
    assert json.loads((shim / "package.json").read_text())["name"] == "tool-scons"
    assert "SCons.Script.main()" in (shim / "scons.py").read_text()


def test_firmware_command_errors(tmp_path) -> None:
    result = CliRunner().invoke(main, ["firmware", "--board", "nucleo-l4r5zi"])
    assert result.exit_code == 2 and "needs MODEL, -o" in result.output
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    sine = REPO / "examples" / "sine.onnx"
    result = CliRunner().invoke(main, ["firmware", str(sine), "--board", "nucleo-l4r5zi",
                                       "-o", str(tmp_path / "other")])
    assert result.exit_code == 2 and "not a tinyc firmware project" in result.output
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("flag", ["--run", "--build"])
@pytest.mark.parametrize("board_id", ["esp32", "esp32-s3"])
def test_generate_only_boards_never_build_or_run(board_id, flag, tmp_path, monkeypatch) -> None:
    """A board tinyc does not emulate: --build / --run is a one-line error before anything is written or
    PlatformIO starts (no platform download)."""
    from tinyc.platformio import firmware as fw

    monkeypatch.setattr(fw, "run_pio", lambda *a, **k: pytest.fail("pio was started"))
    out = tmp_path / "fw"
    result = CliRunner().invoke(main, ["firmware", str(REPO / "examples" / "sine.onnx"), "--board", board_id,
                                       "-o", str(out), flag])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and f"{board_id} is generate only" in result.output
    assert not out.exists()
