"""Fit tinyc's per-core cost model of sparse vs dense layers (tinyc/codegen/cost_model.json) from the emulator.

Every sparse layer of a set of models (VWW as it ships: its late 1x1 convolutions are mostly zeros; KWS, AD and
IC pruned three ways with `tinyc prune`) is profiled on each core twice, once with its sparse kernel and once
with the dense kernel it stands for (the per-layer counter of `tinyc report`, exact instructions on the all-zero
input). Per core and kernel variant, non-negative least squares fits instructions to the layer FEATURES of
tinyc.codegen.variants; the table reports each fit's samples, its largest relative error and its error over
all its layers' instructions. A variant measured on fewer than MIN_LAYERS layers gets no fit (its layers keep
the lowering's choice).

    python benchmarks/cost_model.py -o tinyc/codegen/cost_model.json --markdown benchmarks/cost_model.md
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import click
import numpy as np
from scipy.optimize import nnls

from tinyc.boards import load_board
from tinyc.codegen import generate
from tinyc.codegen.variants import FEATURES, SPARSE_KERNELS, dense_step, family, features
from tinyc.errors import TinycError
from tinyc.pipeline import build_plan
from tinyc.report.profile import profile_layers

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
BOARDS = ("rpi-pico", "nucleo-f207zg", "nucleo-l4r5zi", "nucleo-h743zi", "nucleo-u575zi", "corstone-300", "esp32-c3")
PRUNED = [  # (model, tinyc prune arguments)
    ("kws/kws_ref_model.tflite", ["--sparsity", "0.6"]),
    ("kws/kws_ref_model.tflite", ["--sparsity", "0.92"]),
    ("kws/kws_ref_model.tflite", ["--method", "n:m", "--n-m", "2:8"]),
    ("ad/ad01_int8.tflite", ["--sparsity", "0.8"]),
    ("ad/ad01_int8.tflite", ["--method", "n:m", "--n-m", "1:4"]),
    ("ad/ad01_int8.tflite", ["--sparsity", "0.97"]),
    ("ic/pretrainedResnet_quant.tflite", ["--sparsity", "0.75"]),
    ("ic/pretrainedResnet_quant.tflite", ["--method", "n:m", "--n-m", "2:4"]),
]
MIN_LAYERS = 4  # a variant measured on fewer layers gets no fit (the lowering's choice stands)


def model_files(folder: Path) -> list[Path]:
    files = [MODELS / "vww" / "vww_96_int8.tflite"]
    for k, (model, args) in enumerate(PRUNED):
        out = folder / f"pruned{k}.tflite"
        subprocess.run([sys.executable, "-m", "tinyc", "prune", str(MODELS / model), "-o", str(out), *args],
                       check=True, capture_output=True)
        files.append(out)
    return files


def layer_costs(plan, board, folder: Path) -> list[int]:  # noqa: ANN001
    """Instructions of each non-alias step of `plan` on `board`."""
    lib = folder / "lib"
    report = generate(plan, lib, "m", board, goal="size")
    functions = [e["function"] for e in report["layers"] if not e.get("alias")]
    return profile_layers(lib, "m", board, functions, report["totals"]["input_bytes"]).per_call


def samples(files: list[Path], boards: list[str]) -> list[dict]:
    rows = []
    for path in files:
        plan = build_plan(path)
        sparse = [k for k, s in enumerate(plan.steps) if s.kernel in SPARSE_KERNELS]
        if not sparse:
            continue
        dense = replace(plan, steps=[dense_step(s) if k in sparse else s for k, s in enumerate(plan.steps)])
        index = [k for k, s in enumerate(plan.steps) if not s.alias]
        for board_id in boards:
            board = load_board(board_id)
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    counts = {v: dict(zip(index, layer_costs(p, board, Path(tmp)), strict=True))
                              for v, p in (("sparse", plan), ("dense", dense))}
            except TinycError as exc:  # e.g. the model does not fit the board
                click.echo(f"{path.name} on {board_id}: skipped ({exc})", err=True)
                continue
            for k in sparse:
                step = plan.steps[k]
                for variant in ("dense", step.params["format"]):
                    measured = counts["dense" if variant == "dense" else "sparse"][k]
                    rows.append({"core": board.core, "variant": f"{family(step)}:{variant}", "model": path.name,
                                 "layer": step.node, "features": features(step, variant).tolist(),
                                 "instructions": measured})
            click.echo(f"{path.name} on {board_id}: {len(sparse)} sparse layers", err=True)
    return rows


def fit(rows: list[dict]) -> tuple[dict, list[tuple]]:
    cores: dict[str, dict[str, list[float]]] = {}
    table = []
    for core, variant in sorted({(r["core"], r["variant"]) for r in rows}):
        group = [r for r in rows if r["core"] == core and r["variant"] == variant]
        a = np.array([r["features"] for r in group])
        y = np.array([r["instructions"] for r in group], np.float64)
        coef, _ = nnls(a, y)
        err = np.abs(a @ coef - y) / y
        if len(group) >= MIN_LAYERS:
            cores.setdefault(core, {})[variant] = [float(c) for c in coef]
        total = float(np.abs(a @ coef - y).sum() / y.sum())
        table.append((core, variant, len(group), *coef, float(err.max()), total))
    return cores, table


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--boards", default=",".join(BOARDS), show_default=True)
def main(output: Path, markdown: Path | None, boards: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = samples(model_files(Path(tmp)), boards.split(","))
    cores, table = fit(rows)
    output.write_text(json.dumps({"features": list(FEATURES), "source": "benchmarks/cost_model.py",
                                  "samples": len(rows), "cores": cores}, indent=1) + "\n")
    if markdown:
        head = "| core | variant | layers | " + " | ".join(FEATURES) + " | max rel. error | error / total |\n"
        head += "|---|---|---:|" + "---:|" * len(FEATURES) + "---:|---:|\n"
        body = "".join(f"| {c} | {v} | {n} | " + " | ".join(f"{x:.4g}" for x in coef) + f" | {e:.1%} | {t:.1%} |\n"
                       for c, v, n, *coef, e, t in table)
        markdown.write_text(f"# Cost model: instructions per layer, sparse vs dense kernels\n\n{__doc__}\n\n"
                            f"{head}{body}")


if __name__ == "__main__":
    main()
