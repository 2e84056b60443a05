"""`tinyc validate` (issue 16): tinyc's int8 KWS against kws_ref_model_float32.tflite on the MLPerf sample and on
random data, and MNIST quantized by `tinyc quantize` (calibrated on its three test vectors, given without the
extra batch axis) against mnist-8.onnx, on ref, host and the emulated nucleo-l4r5zi. The figures are checked
against an independent computation: the int8 model in TFLM on inputs quantized by hand, the float model in
LiteRT / onnxruntime, the metrics in NumPy. (The --port path: tests/test_serial_protocol.py.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

from tests.helpers import tflm_outputs
from tests.test_float_io import hand_dequantize, hand_quantize
from tinyc.cli import main
from tinyc.pipeline import build_plan

BOARD = "nucleo-l4r5zi"
TARGETS = ["ref", "host", pytest.param(BOARD, marks=pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed"))]
KWS, KWS_FLOAT = "mlperf_tiny/kws/kws_ref_model.tflite", "mlperf_tiny/kws/kws_ref_model_float32.tflite"


def validate(*args: str) -> dict:
    r = CliRunner().invoke(main, ["validate", *map(str, args), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def independent(int8_model: Path, float_outputs: np.ndarray, x: np.ndarray) -> dict:
    """The metrics computed without tinyc: TFLM on hand-quantized inputs, NumPy formulas."""
    graph = build_plan(int8_model).graph  # only for the boundary tensors' scale and zero point
    t_in, t_out = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    q = hand_quantize(x.reshape(len(x), *t_in.shape), t_in.quant.s, t_in.quant.zp, t_in.dtype)
    d = hand_dequantize(tflm_outputs(int8_model, q), t_out.quant.s, t_out.quant.zp).reshape(len(x), -1).astype("f8")
    o = float_outputs.reshape(len(x), -1).astype(np.float64)
    e = d - o
    return {"rmse": float(np.sqrt((e**2).mean())), "max_abs_error": float(np.abs(e).max()),
            "l2_relative_error": float(np.linalg.norm(e) / np.linalg.norm(o)),
            "cosine": float((d * o).sum() / np.linalg.norm(d) / np.linalg.norm(o)),
            "top1_agreement": float((d.argmax(1) == o.argmax(1)).mean())}


def check(report: dict, expected: dict) -> None:
    got = report["outputs"][0]
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


@pytest.fixture(scope="module")
def kws_data(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    folder = tmp_path_factory.mktemp("kws")
    graph = build_plan(models_dir / KWS).graph
    q = graph.tensor(graph.inputs[0]).quant
    sample = hand_dequantize(np.load(models_dir / "mlperf_tiny/kws/kws_sample_input.npy"), q.s, q.zp)
    rng = np.random.default_rng(16)
    noise = rng.uniform((-128 - q.zp) * q.s, (127 - q.zp) * q.s, (40, 1, 49, 10, 1)).astype(np.float32)
    interp = Interpreter(model_path=str(models_dir / KWS_FLOAT),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    data = {}
    for name, x in (("sample", sample[np.newaxis]), ("random", noise)):
        outs = []
        for xi in x:
            interp.set_tensor(interp.get_input_details()[0]["index"], xi)
            interp.invoke()
            outs.append(interp.get_tensor(interp.get_output_details()[0]["index"]).copy())
        np.save(folder / f"{name}.npy", x)
        data[name] = (folder / f"{name}.npy", independent(models_dir / KWS, np.stack(outs), x))
    np.save(folder / "label.npy", np.array([5]))  # the benchmark's answer for its sample: "on"
    data["label"] = folder / "label.npy"
    return data


@pytest.mark.parametrize("target", TARGETS)
def test_kws_against_float_original(models_dir: Path, kws_data: dict, target: str) -> None:
    sample, expected = kws_data["sample"]
    report = validate(models_dir / KWS, "--original", models_dir / KWS_FLOAT, "--data", sample,
                      "--labels", kws_data["label"], "--target", target)
    assert report["accuracy"] == {"deployed": 1.0, "original": 1.0} and report["inputs"] == 1
    check(report, expected)
    noise, expected = kws_data["random"]
    report = validate(models_dir / KWS, "--original", models_dir / KWS_FLOAT, "--data", noise, "--target", target)
    assert report["inputs"] == 40
    check(report, expected)


@pytest.fixture(scope="module")
def mnist(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    import onnxruntime as ort

    folder = tmp_path_factory.mktemp("mnist")
    base = models_dir / "onnx/mnist-8"
    x = np.concatenate([numpy_helper.to_array(onnx.load_tensor(base / f"test_data_set_{k}/input_0.pb"))
                        for k in range(3)])  # (3, 1, 28, 28): the model's [1, 1, 28, 28] without the batch axis
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", np.array([2, 0, 9]))
    r = CliRunner().invoke(main, ["quantize", str(base / "mnist-8.onnx"), "--calib", str(folder / "x.npy"),
                                  "-o", str(folder / "mnist_int8.tflite")])
    assert r.exit_code == 0, r.output
    session = ort.InferenceSession(str(base / "mnist-8.onnx"))
    ref = np.stack([session.run(None, {session.get_inputs()[0].name: xi[np.newaxis]})[0] for xi in x])
    return {"model": folder / "mnist_int8.tflite", "original": base / "mnist-8.onnx", "x": folder / "x.npy",
            "y": folder / "y.npy", "expected": independent(folder / "mnist_int8.tflite", ref, x)}


@pytest.mark.parametrize("target", TARGETS)
def test_quantized_mnist_against_onnx(mnist: dict, target: str) -> None:
    report = validate(mnist["model"], "--original", mnist["original"], "--data", mnist["x"], "--labels", mnist["y"],
                      "--target", target)
    assert report["original_runtime"].startswith("onnxruntime") and report["accuracy"]["original"] == 1.0
    assert report["accuracy"]["deployed"] == 1.0
    check(report, mnist["expected"])


def test_refusals(models_dir: Path, kws_data: dict, tmp_path: Path) -> None:
    sample, _ = kws_data["sample"]
    cases = [
        (["--original", models_dir / KWS_FLOAT, "--data", sample, "--port", "/dev/null"],
         "--port needs --target BOARD"),
        (["--original", models_dir / KWS, "--data", sample], "the original must be the float model"),
        (["--original", models_dir / KWS_FLOAT, "--data", models_dir / "mlperf_tiny/kws/kws_sample_input.npy"],
         "float I/O takes floating-point data"),
        (["--original", models_dir / KWS_FLOAT, "--data", sample, "--labels", sample], "labels must be 1 integers"),
        (["--original", models_dir / "onnx/mnist-8/mnist-8.onnx", "--data", sample], "has shape [1, 1, 28, 28]"),
    ]
    for args, message in cases:
        r = CliRunner().invoke(main, ["validate", str(models_dir / KWS), *map(str, args)])
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
def test_html_report_has_the_validation_section(mnist: dict, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    report = validate(mnist["model"], "--original", mnist["original"], "--data", mnist["x"], "--labels", mnist["y"],
                      "--target", BOARD, "--html", out)
    page = out.read_text()
    section = page[page.index('<section class="extra" id="validation-against-the-float-original">'):]
    assert f"{report['outputs'][0]['rmse']:.4g}" in section and "100.00%" in section and "onnxruntime" in section
