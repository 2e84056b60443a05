"""`tinyc validate` figures for the README (issue 16): tinyc's int8 KWS against kws_ref_model_float32.tflite, and
MNIST quantized by `tinyc quantize` (calibrated on its 3 test vectors) against mnist-8.onnx, on ref, host, the
emulated nucleo-l4r5zi and the same board's validation firmware over its serial port (QEMU, UART on a pty).

    python benchmarks/validate.py [--random 100] [-o benchmarks/validate.md]

Data: KWS, the MLPerf sample (dequantized from its int8 file; label 5 "on") and N uniform random inputs over
the int8 input's range; MNIST, its 3 test vectors (labels 2, 0, 9) and N uniform random images in [0, 255].
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from click.testing import CliRunner
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinyc.atomic import write_text  # noqa: E402
from tinyc.cli import main  # noqa: E402
from tinyc.pipeline import build_plan  # noqa: E402
from tinyc.validate.firmware import build_emulated, qemu_serial  # noqa: E402

MODELS = ROOT.parent / "shared" / "models"
BOARD = "nucleo-l4r5zi"


def cli(*args: object) -> dict:
    r = CliRunner().invoke(main, [*map(str, args)])
    if r.exit_code != 0:
        raise SystemExit(r.output)
    return json.loads(r.stdout) if "--json" in args else {}


def datasets(tmp: Path, n: int) -> list[tuple[str, Path, Path, list[tuple[str, Path, Path | None]]]]:
    """(name, int8 model, original, [(data name, X.npy, labels or None)])"""
    rng = np.random.default_rng(16)
    kws = MODELS / "mlperf_tiny/kws/kws_ref_model.tflite"
    graph = build_plan(kws).graph
    q = graph.tensor(graph.inputs[0]).quant
    sample = np.float32(q.s) * (np.load(MODELS / "mlperf_tiny/kws/kws_sample_input.npy").astype(np.float32) - q.zp)
    np.save(tmp / "kws_sample.npy", sample)
    np.save(tmp / "kws_label.npy", np.array([5]))
    np.save(tmp / "kws_random.npy", rng.uniform((-128 - q.zp) * q.s, (127 - q.zp) * q.s, (n, 1, 49, 10, 1))
            .astype(np.float32))
    base = MODELS / "onnx/mnist-8"
    x = np.concatenate([numpy_helper.to_array(onnx.load_tensor(base / f"test_data_set_{k}/input_0.pb"))
                        for k in range(3)])
    np.save(tmp / "mnist_x.npy", x)
    np.save(tmp / "mnist_y.npy", np.array([2, 0, 9]))
    np.save(tmp / "mnist_random.npy", rng.uniform(0, 255, (n, 1, 28, 28)).astype(np.float32))
    cli("quantize", base / "mnist-8.onnx", "--calib", tmp / "mnist_x.npy", "-o", tmp / "mnist_int8.tflite")
    return [
        ("KWS int8 (MLPerf Tiny)", kws, MODELS / "mlperf_tiny/kws/kws_ref_model_float32.tflite",
         [("MLPerf sample", tmp / "kws_sample.npy", tmp / "kws_label.npy"), (f"{n} random", tmp / "kws_random.npy",
                                                                             None)]),
        ("MNIST, tinyc quantize", tmp / "mnist_int8.tflite", base / "mnist-8.onnx",
         [("3 test vectors", tmp / "mnist_x.npy", tmp / "mnist_y.npy"), (f"{n} random", tmp / "mnist_random.npy",
                                                                          None)]),
    ]


def row(model_name: str, data_name: str, results: dict[str, dict]) -> str:
    """One table row: ref's figures, and whether every target gave the same outputs (hence figures)."""
    same = len({json.dumps(r["outputs"]) for r in results.values()}) == 1
    r = results["ref"]
    o = r["outputs"][0]
    acc = f"{r['accuracy']['deployed']:.0%} / {r['accuracy']['original']:.0%}" if "accuracy" in r else "-"
    return (f"| {model_name} | {data_name} | {'ref = host = board = serial' if same else 'DIFFER'} | "
            f"{o['top1_agreement']:.0%} | {o['rmse']:.4g} | {o['max_abs_error']:.4g} | "
            f"{o['l2_relative_error']:.4g} | {o['cosine']:.6f} | {acc} |")


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=100)
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks" / "validate.md")
    args = parser.parse_args(argv)
    rows = ["| model | data | target | top-1 agreement | RMSE | max abs error | L2 rel. error | cosine | accuracy "
            "(deployed / original) |", "|---|---|---|---:|---:|---:|---:|---:|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for model_name, model, original, data in datasets(Path(tmp), args.random):
            image = build_emulated(build_plan(model), BOARD, Path(tmp) / f"fw_{model.stem}")
            with qemu_serial(image) as pty:
                for data_name, x, y in data:
                    results = {}
                    for target, extra in (("ref", []), ("host", []), (BOARD, []), (f"{BOARD} over serial",
                                                                                      ["--port", pty])):
                        labels = ["--labels", y] if y is not None else []
                        results[target] = cli("validate", model, "--original", original, "--data", x, *labels,
                                              "--target", target.split()[0], *extra, "--json")
                    rows.append(row(model_name, data_name, results))
    text = "\n".join(["# tinyc validate: int8 against the float original", "", __doc__.split("\n\n")[2].strip(), "",
                      *rows, ""])
    write_text(args.output, text)
    print(text)


if __name__ == "__main__":
    main_()
