"""RAM with and without row bands (`--patch`, tinyc/memory/patch.py) on the models of ../shared/models: for each
model and board, the arena and its lower bound, RAM as TFLM counts it (arena, static data, stack peak, input and
output buffers), instructions per inference and code, unbanded and banded, and whether both give the reference
runtime's bytes on the same inputs.

    .venv/bin/python benchmarks/patch_ram.py --inputs 20   # writes benchmarks/patch_ram.md
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinyc.bench.model import random_inputs  # noqa: E402
from tinyc.pipeline import build_plan, run_model  # noqa: E402

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
FILES = ["mlperf_tiny/vww/vww_96_int8.tflite", "zoo/tflm_person_detect.tflite", "mlperf_tiny/kws/kws_ref_model.tflite",
         "mlperf_tiny/ic/pretrainedResnet_quant.tflite", "mlperf_tiny/ad/ad01_int8.tflite",
         "mlperf_tiny/sww/str_ww_ref_model.tflite"]
BOARDS = ("nucleo-l4r5zi", "corstone-300", "rpi-pico", "esp32-c3")


def measure(plan, x: np.ndarray, want: np.ndarray, board: str) -> dict:  # noqa: ANN001
    outputs, report = run_model(plan, [x], board)
    return {"equal": bool(np.array_equal(outputs[0], want)), "instructions": report["instructions_per_inference"][0],
            "code": report["flash"]["code"], "ram": report["ram"]["total"]}


@click.command()
@click.option("--inputs", default=20, show_default=True, help="random inputs per model, after the all-zero one")
@click.option("--markdown", type=click.Path(path_type=Path), default=Path(__file__).with_name("patch_ram.md"))
def main(inputs: int, markdown: Path) -> None:
    start = time.monotonic()
    rows = []
    for rel in FILES:
        path = MODELS / rel
        base, banded = build_plan(path), build_plan(path, patch=True)
        x = random_inputs(base.graph.tensor(base.graph.inputs[0]), inputs, seed=3)
        want = run_model(base, [x], "ref")[0][0]
        if banded.patch is None:
            arena = f"{base.arena_size:,} ({base.lower_bound:,})"
            rows.append(f"| `{path.name}` | - | {arena} | no bands pay | - | - | - | - |")
            click.echo(f"{path.name}: no bands pay", err=True)
            continue
        ref_equal = np.array_equal(run_model(banded, [x], "ref")[0][0], want)
        p = banded.patch
        stage = f"{len(p.nodes)} layers, {p.bands} bands, +{p.extra_macs:,} MACs"
        for board in BOARDS:
            a, b = measure(base, x, want, board), measure(banded, x, want, board)
            equal = f"{inputs + 1}/{inputs + 1}" if a["equal"] and b["equal"] and ref_equal else "**differs**"
            rows.append(f"| `{path.name}` | {board} | {base.arena_size:,} ({base.lower_bound:,}) -> "
                        f"{banded.arena_size:,} ({banded.lower_bound:,}) | {stage} | {a['ram']:,} -> {b['ram']:,} "
                        f"({b['ram'] / a['ram']:.2f}x) | {a['instructions']:,} -> {b['instructions']:,} "
                        f"({b['instructions'] / a['instructions']:.3f}x) | {a['code']:,} -> {b['code']:,} | {equal} |")
            click.echo(rows[-1], err=True)
    lines = ["# Row bands: RAM with and without `--patch`", "",
             f"`benchmarks/patch_ram.py --inputs {inputs}` ({(time.monotonic() - start) / 60:.1f} min): each model "
             "compiled for each board with its default kernels (`--optimize balanced`), unbanded and with `--patch`; "
             "arena (its lower bound) in bytes; RAM as TFLM counts it (arena, static data, stack peak, input and "
             "output buffers); instructions per inference on the all-zero input; code bytes; equal: inputs (the "
             "all-zero one and random ones) on which both give the reference runtime's bytes.", "",
             "| model | board | arena (lower bound) | bands | RAM | instructions | code | equal |",
             "|---|---|---|---|---:|---:|---:|---:|", *rows]
    markdown.write_text("\n".join(lines) + "\n")
    click.echo(f"wrote {markdown}")


if __name__ == "__main__":
    main()
