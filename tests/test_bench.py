"""tinyc bench: the baseline comparison CI relies on (each metric 2% worse fails, 0.5% passes, a bit
mismatch or a missing pair fails), the Markdown, the CLI's exit codes, and on the emulator a real run whose
instruction counts repeat exactly across runs of the same build."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.conftest import MLPERF_INT8, REPO
from tinyc.bench import METRICS, bench_pair, compare, load_bench_model, row_failures
from tinyc.bench.anchors import TFLM, render_tflm_markdown
from tinyc.bench.baseline import baseline_document, metric
from tinyc.bench.markdown import render_markdown
from tinyc.bench.pair import ERROR, GENERATE_ONLY, NO_FIT, OK
from tinyc.boards import load_board
from tinyc.cli import main

SINE = REPO / "examples" / "sine.onnx"


def row(model: str = "kws", board: str = "nucleo-l4r5zi", **changes: object) -> dict:
    r = {
        "model": model, "model_sha256": "ab" * 32, "board": board, "core": "cortex-m4f", "status": OK,
        "message": "", "macs": 1_000_000, "bit_exact": True, "compared": 21,
        "compared_with": "reference runtime", "mismatches": 0, "mismatched_inputs": [],
        "instructions": 2_000_000, "instructions_min": 1_999_000, "instructions_max": 2_001_000,
        "instructions_vary": True, "instructions_per_mac": 2.0, "ms_estimate": 21.67,
        "flash": {"code": 10_000, "weights": 50_000, "total": 60_000},
        "ram": {"arena": 20_000, "static": 21_000, "stack_peak": 100, "io": 500, "total": 21_600},
        "compile_seconds": 0.1,
    }
    r.update(changes)
    return r


def scaled(r: dict, path: tuple[str, ...], factor: float) -> dict:
    r = copy.deepcopy(r)
    holder = r
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = int(holder[path[-1]] * factor)
    return r


def matrix(*rows: dict) -> dict:
    return {"format": 1, "command": "tinyc bench -m kws.tflite", "inputs": 20, "seed": 0, "rows": list(rows)}


# ---------------------------------------------------------------- compare()


@pytest.mark.parametrize("path,label", METRICS, ids=[label for _, label in METRICS])
def test_two_percent_worse_fails_in_each_metric(path: tuple[str, ...], label: str) -> None:
    base = [row(), row(board="esp32-c3")]
    failures = compare([scaled(base[0], path, 1.02), base[1]], base)
    assert len(failures) == 1
    assert failures[0].startswith(f"kws on nucleo-l4r5zi: {label} ") and "2.00% more" in failures[0]


def test_half_a_percent_worse_everywhere_and_better_pass() -> None:
    base = row()
    worse, better = base, base
    for path, _ in METRICS:
        worse, better = scaled(worse, path, 1.005), scaled(better, path, 0.9)
    assert compare([worse], [base]) == []
    assert compare(matrix(better), matrix(base)) == []
    assert compare([scaled(base, ("instructions",), 1.02)], [base], tolerance=0.03) == []


def test_a_bit_mismatch_fails_even_with_better_figures() -> None:
    bad = scaled(row(bit_exact=False, mismatches=2, mismatched_inputs=[3, 17]), ("instructions",), 0.5)
    failures = compare([bad], [row()])
    assert failures == ["kws on nucleo-l4r5zi: 2 of 21 outputs differ from the reference runtime "
                        "(inputs 3, 17; input 0 is all-zero)"]
    assert row_failures([bad]) == failures


def test_a_missing_pair_fails_and_so_does_a_pair_without_baseline() -> None:
    base = [row(), row(board="rpi-pico")]
    assert compare([row()], base) == ["kws on rpi-pico: missing pair (in the baseline, not in this matrix)"]
    failures = compare(base + [row(model="ad")], base)
    assert failures == ["ad on nucleo-l4r5zi: not in the baseline (add it with --update-baseline)"]


def test_status_changes_errors_and_model_changes() -> None:
    no_fit = row(status=NO_FIT, message="model needs 52 KiB of RAM, x has 20 KiB", instructions=None)
    assert compare([no_fit], [no_fit]) == []
    assert compare([row()], [no_fit]) == []  # fits now: better
    assert "now 'does not fit': model needs 52 KiB" in compare([no_fit], [row()])[0]
    assert "error: boom" in compare([row(status=ERROR, message="boom")], [row()])[0]
    assert "model file differs" in compare([row(model_sha256="cd" * 32)], [row()])[0]
    unmeasured = row()
    unmeasured["flash"]["code"] = None
    assert compare([unmeasured], [row()]) == [
        "kws on nucleo-l4r5zi: flash code not measured (baseline 10,000)"
    ]


def test_baseline_document_drops_compile_time_and_keeps_other_pairs() -> None:
    old = matrix(row(), row(board="rpi-pico"))
    new = matrix(scaled(row(), ("instructions",), 0.5))
    doc = baseline_document(new, old)
    assert [(r["board"], r["instructions"]) for r in doc["rows"]] == [("nucleo-l4r5zi", 1_000_000),
                                                                      ("rpi-pico", 2_000_000)]
    assert all("compile_seconds" not in r for r in doc["rows"]) and doc["inputs"] == 20
    assert metric(doc["rows"][1], ("ram", "total")) == 21_600


# ---------------------------------------------------------------- Markdown


def test_markdown_shows_every_status() -> None:
    unmeasured = {"instructions": None, "instructions_min": None, "instructions_max": None,
                  "instructions_per_mac": None, "ms_estimate": None}
    rows = [row(), row(board="rpi-pico", bit_exact=False, mismatches=1, mismatched_inputs=[4]),
            row(board="nucleo-f103rb", status=NO_FIT, **unmeasured,
                message="model needs 52 KiB of RAM, nucleo-f103rb has 20 KiB"),
            row(board="esp32", status=GENERATE_ONLY, message="not emulated here", **unmeasured)]
    text = render_markdown(matrix(*rows))
    assert text.startswith("# tinyc benchmark matrix\n\nRegenerate with:\n\n```sh\ntinyc bench -m kws")
    assert "| `nucleo-l4r5zi` | cortex-m4f | yes (21/21) | 2,000,000 | 21.67 | 0.100% | 2.00 | 10,000 |" in text
    assert "**NO** (1 of 21 differ)" in text
    assert "`kws` on `nucleo-f103rb`: does not fit: model needs 52 KiB of RAM" in text
    assert "generate only, not emulated here" in text and "≥ 21,600" in text


def test_tflm_comparison_ratios() -> None:
    anchor = TFLM[("kws_ref_model", "cortex-m4f")]
    mine = row(model="kws_ref_model", instructions=anchor.instructions // 2)
    m7 = row(model="kws_ref_model", board="nucleo-h743zi", core="cortex-m7")
    text = render_tflm_markdown(matrix(mine, m7), ["tinyc bench ...", "python benchmarks/tflm_compare.py"])
    assert "| KWS DS-CNN | 1,000,000 | 0.50 |" in text
    assert "| instructions / inference (all-zero input) | 3,848,567 | 7,697,134 | 0.50 |" in text
    assert "| weights (tinyc) / whole .tflite flatbuffer (TFLM) | 50,000 | 53,936 | 0.93 |" in text
    assert "| KWS DS-CNN | cortex-m7 | `nucleo-h743zi` | 2,000,000 | 7,642,900 | 0.26 |" in text


# ---------------------------------------------------------------- the CLI (matrix runs faked)


@pytest.fixture
def fake_matrix(monkeypatch: pytest.MonkeyPatch) -> dict:
    """`tinyc bench` with run_matrix replaced: returns what the next call returns, records its arguments."""
    state: dict = {"result": matrix(row(), row(board="rpi-pico"))}

    def run_matrix(models: list[str], boards: list[str], **kwargs: object) -> dict:
        state["args"] = (models, boards, kwargs)
        return copy.deepcopy(state["result"])

    monkeypatch.setattr("tinyc.bench.matrix.run_matrix", run_matrix)
    return state


def bench(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["bench", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_lists_spread_commas_and_repeats(fake_matrix: dict, tmp_path: Path) -> None:
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(b"x")
    b.write_bytes(b"x")
    code, out, _ = bench("--models", str(a), str(b), "--boards", "rpi-pico", "esp32-c3,rpi-pico", "-n", "3")
    assert code == 0 and "| `nucleo-l4r5zi` |" in out
    models, boards, kwargs = fake_matrix["args"]
    assert models == [str(a), str(b)] and boards == ["rpi-pico", "esp32-c3"] and kwargs["count"] == 3
    bench("-m", f"{a},{b}", "-b", "all")
    assert fake_matrix["args"][1] == sorted(p.stem for p in (REPO / "boards").glob("*.yaml"))
    code, _, err = bench("-m", str(a), "-b", "no-such-board")
    assert code == 2 and "unknown board no-such-board" in err


def test_cli_baseline_check_update_and_exit_codes(fake_matrix: dict, tmp_path: Path) -> None:
    model, baseline = tmp_path / "kws.tflite", tmp_path / "baseline.json"
    model.write_bytes(b"x")
    args = ("-m", str(model), "--baseline", str(baseline))
    assert bench(*args)[0] == 2  # no baseline yet
    code, _, err = bench(*args, "--update-baseline", "--json", str(tmp_path / "m.json"))
    assert code == 0 and "wrote" in err
    assert json.loads(baseline.read_text())["rows"][0]["instructions"] == 2_000_000
    assert bench(*args)[0] == 0
    fake_matrix["result"]["rows"][1] = scaled(row(board="rpi-pico"), ("ram", "total"), 1.02)
    code, _, err = bench(*args)
    assert code == 1 and "kws on rpi-pico: RAM total 22,032 is 2.00% more than the baseline's 21,600" in err
    fake_matrix["result"]["rows"][0].update(bit_exact=False, mismatches=1, mismatched_inputs=[0])
    code, _, err = bench(*args, "--update-baseline")
    assert code == 1 and "1 of 21 outputs differ" in err
    assert json.loads(baseline.read_text())["rows"][1]["ram"]["total"] == 21_600  # not updated
    assert json.loads((tmp_path / "m.json").read_text())["rows"][0]["bit_exact"] is True


# ---------------------------------------------------------------- on the emulator


def needs(*tools: str) -> pytest.MarkDecorator:
    missing = [t for t in tools if shutil.which(t) is None]
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed")


ARM = needs("cc", "arm-none-eabi-gcc", "qemu-system-arm")


@ARM
def test_cli_end_to_end_float_model(tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "m.json", tmp_path / "m.md"
    code, _, err = bench("-m", str(SINE), "-b", "nucleo-l4r5zi,esp32", "-n", "4", "--json", str(out_json),
                         "--markdown", str(out_md))
    assert code == 0, err
    rows = json.loads(out_json.read_text())["rows"]
    assert [(r["board"], r["status"]) for r in rows] == [("nucleo-l4r5zi", OK), ("esp32", GENERATE_ONLY)]
    assert rows[0]["bit_exact"] and rows[0]["compared"] == 5
    assert rows[0]["compared_with"] == "generated C on the host"  # a float model
    assert rows[1]["flash"]["weights"] > 0 and rows[1]["flash"]["code"] is None
    assert "--json" in out_md.read_text().split("```sh\n")[1].split("\n")[0]


@ARM
def test_counts_repeat_exactly_across_runs_of_one_build(tmp_path: Path) -> None:
    """The generated C of a real model on the soft-float M0+ (data-dependent branches: counts differ by
    input): the same ELF run again, and counted per instruction instead of per block, gives the same counts,
    and so does a second build."""
    from tinyc.codegen import generate
    from tinyc.targets import run_board, run_qemu

    model = load_bench_model(SINE, 6, 1)
    lib = tmp_path / "lib"
    generate(model.plan, lib, "sine", load_board("rpi-pico"))
    first = run_board(lib, "sine", "rpi-pico", model.inputs.reshape(7, -1), work_dir=tmp_path / "build",
                      output_dtype=np.float32)
    counts = first.instructions_per_inference
    assert len(set(counts)) > 1  # they do vary by input
    elf = tmp_path / "build" / "sine-rpi-pico-0.elf"
    board = load_board("rpi-pico")
    assert run_qemu(board, elf).instructions == counts
    assert run_qemu(board, elf, mode="insn").instructions == counts
    second = run_board(lib, "sine", "rpi-pico", model.inputs.reshape(7, -1), output_dtype=np.float32)
    assert second.instructions_per_inference == counts
    assert harness_sections(elf) == {".tinyc_harness"}  # so flash_code (model + libc) excludes the harness


HARNESS_FUNCTIONS = ("main", "tinyc_start", "tinyc_puts", "tinyc_exit", "tinyc_fault", "tinyc_marker_begin",
                     "tinyc_marker_end")


def harness_sections(elf: Path) -> set[str]:
    """The sections holding the harness's functions."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        image = ELFFile(f)
        symbols = image.get_section_by_name(".symtab")
        found = {image.get_section(sym["st_shndx"]).name for name in HARNESS_FUNCTIONS
                 for sym in symbols.get_symbol_by_name(name) or []}
    return found


@ARM
def test_mlperf_pair_repeats(models_dir: Path) -> None:
    """Two bench runs of KWS on the M4F: identical rows but for compile time."""
    model = load_bench_model(models_dir / MLPERF_INT8["kws"], 3, 0)
    rows = [bench_pair(model, load_board("nucleo-l4r5zi")) for _ in range(2)]
    for r in rows:
        r.pop("compile_seconds")
    assert rows[0] == rows[1] and rows[0]["bit_exact"] and rows[0]["instructions_vary"]
