"""`tinyc report`: the HTML opens in a real headless browser (Debian's chromium) without script errors and
its charts have their elements (a bar per layer, a rectangle per arena buffer, an SNR bar per layer, the
two gauges); per-layer instructions from the emulator agree with an independent window count; the LM report;
`tinyc compile` writes report.html."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import MLPERF_INT8
from tinyc.cli import main

CHROMIUM = shutil.which("chromium")
ARM = pytest.mark.skipif(any(shutil.which(t) is None for t in ("cc", "arm-none-eabi-gcc", "qemu-system-arm")),
                         reason="arm-none-eabi-gcc or qemu-system-arm missing")
BROWSER = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (scripts/install.sh installs it)")
# Injected before the page: records script errors, then writes element counts into the DOM for --dump-dom.
PROBE = """<script>window.__errors=[];addEventListener("error",e=>__errors.push(String(e.message)));
addEventListener("DOMContentLoaded",()=>{const n=s=>document.querySelectorAll(s).length;
const p=document.createElement("pre");p.id="probe";p.textContent=JSON.stringify({errors:__errors,
layers:n('[id^="layer-bar-"]'),timeline:n('[id^="timeline-rect-"]'),snr:n('[id^="snr-bar-"]'),
gauges:n('#gauge-flash,#gauge-ram'),svgs:n("svg"),
widths:[...document.querySelectorAll("svg")].map(s=>s.getBoundingClientRect().width)});
document.body.appendChild(p);});</script>"""


def browse(page: Path, tmp: Path) -> dict:
    """The probe's findings for ``page`` rendered by headless chromium."""
    probed = tmp / f"probed-{page.name}"
    probed.write_text(page.read_text().replace("<head>", "<head>" + PROBE, 1))
    result = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp}/u",
                             "--enable-logging=stderr", "--virtual-time-budget=3000", "--dump-dom",
                             probed.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    return {**json.loads(found.group(1).replace("&quot;", '"')), "console": console}


@pytest.fixture(scope="module")
def kws(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, Path]:
    from tinyc.report.build import report_for_model, write_report

    kws_dir = models_dir / "mlperf_tiny" / "kws"
    import numpy as np

    rep = report_for_model(models_dir / MLPERF_INT8["kws"], "nucleo-l4r5zi",
                           original=kws_dir / "kws_ref_model_float32.tflite",
                           data=np.load(kws_dir / "kws_sample_input.npy"))
    out = tmp_path_factory.mktemp("report")
    write_report(rep, out / "kws.html", out / "png")
    return rep, out / "kws.html", out


@ARM
@BROWSER
def test_kws_report_renders_with_every_chart_element(kws: tuple, tmp_path: Path) -> None:
    rep, page, out = kws
    seen = browse(page, tmp_path)
    assert seen["errors"] == [] and seen["console"] == []
    assert seen["layers"] == len(rep.layers) == 12  # KWS: 13 steps, the reshape runs no code
    assert seen["timeline"] == len(rep.timeline) > 0
    assert seen["snr"] == len(rep.snr) == 12
    assert seen["gauges"] == 2 and seen["svgs"] == 4 and min(seen["widths"]) > 300
    assert sorted(p.name for p in (out / "png").iterdir()) == ["fit.png", "layers.png", "memory.png", "snr.png"]
    text = page.read_text()
    assert "<script" not in text and not re.search(r'(src|href)="?https?:', text)  # self-contained


@BROWSER
def test_the_probe_sees_script_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><head></head><body><script>throw new Error('boom')</script></body></html>")
    assert any("boom" in e for e in browse(page, tmp_path)["errors"])


@ARM
def test_layer_instructions_agree_with_a_window_count(kws: tuple, tmp_path: Path, models_dir: Path) -> None:
    """Layer 0's kernel is called once and layer 1's kernel first right after it, so the icount plugin's
    window between the two entries is layer 0's count; repeated identical layers followed by the same kernel
cost the same; estimated
    ms are instructions x the board's int8 CPI (1.3) / 120 MHz."""
    import numpy as np

    from tinyc.codegen import generate
    from tinyc.pipeline import build_plan, model_name
    from tinyc.targets import run_board, run_qemu

    rep = kws[0]
    plan = build_plan(models_dir / MLPERF_INT8["kws"])
    name = model_name(plan)
    lib_report = generate(plan, tmp_path / "lib", name, rep.board)
    functions = [e["function"] for e in lib_report["layers"] if not e.get("alias")]
    run_board(tmp_path / "lib", name, "nucleo-l4r5zi", np.zeros((1, 490), np.int8), work_dir=tmp_path / "b")
    elf = tmp_path / "b" / f"{name}-nucleo-l4r5zi-0.elf"
    window = run_qemu(rep.board, elf, count_between=(symbol(elf, functions[0]), symbol(elf, functions[1])))
    assert window.instructions == [rep.layers[0].instructions]
    counts = [layer.instructions for layer in rep.layers]
    assert counts[2] == counts[4] == counts[6] and counts[1] == counts[3] == counts[5] == counts[7]
    assert abs(counts[8] - counts[6]) < 16  # the same kernel; the next call's argument set-up differs
    assert sum(counts) < rep.instructions < sum(counts) + 200  # + the run function's prologue
    assert rep.layers[2].ms == pytest.approx(counts[2] * 1.3 / 120e3)


def symbol(elf: Path, function: str) -> str:
    """The ELF symbol of a kernel function: itself or GCC's one clone of it (name.constprop.0 ...)."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        names = {s.name for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}
    found = [n for n in names if n == function or n.startswith(function + ".")]
    assert len(found) == 1, found
    return found[0]


@ARM
@BROWSER
def test_lm_report(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "lm.html"
    result = CliRunner().invoke(main, ["report", str(models_dir / "llm" / "stories260K.bin"), "--board",
                                       "nucleo-h743zi", "-o", str(out), "--png", str(tmp_path / "png")])
    assert result.exit_code == 0, result.output
    seen = browse(out, tmp_path)
    assert seen["errors"] == [] and seen["layers"] == 5 * 5 + 1  # 5 layers x (qkv, attention, wo, w1/w3, w2) + cls
    assert seen["gauges"] == 2 and seen["timeline"] > 0 and seen["snr"] == 0
    assert 'id="gauge-flash-code"' in out.read_text()  # flash and RAM from the linked image (emulated)


def test_compile_writes_report_html_and_refusals(models_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    kws = str(models_dir / MLPERF_INT8["kws"])
    result = runner.invoke(main, ["compile", kws, "--board", "nucleo-l4r5zi", "-o", str(tmp_path / "lib")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "lib" / "report.html").read_text()
    assert page.count('id="layer-bar-') == 12 and (tmp_path / "lib" / "report.json").is_file()
    result = runner.invoke(main, ["report", kws, "--board", "nucleo-l4r5zi", "-o", str(tmp_path / "r.html"),
                                  "--original", kws])
    assert result.exit_code == 2 and "--original and --data go together" in result.output
    result = runner.invoke(main, ["report", kws, "--board", "no-such", "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "unknown board 'no-such'" in result.output
    assert not (tmp_path / "r.html").exists()
