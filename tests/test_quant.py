"""Post-training quantization: calibration methods, the int8 scheme, bias correction, the report, and
`tinyc quantize` (its output runs on TFLM byte-equal to tinyc; bad data is a one-line error)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import MLPERF_INT8
from tests.graphs import every_op_graph
from tests.helpers import assert_one_line_error, invoke, tflm_outputs
from tinyc.frontends import load_model
from tinyc.lower import lower
from tinyc.quant import (
    activation_quant,
    calibrate,
    correct_bias,
    dequantize_output,
    evaluate,
    ptq,
    quantize,
    quantize_input,
    quantize_weights,
)
from tinyc.quant.calibration import choose_range
from tinyc.quant.observe import HISTOGRAM_BINS, TensorStats
from tinyc.quant.scheme import dequantize_values, quantize_values
from tinyc.runtime import run_plan

AD_FLOAT = "mlperf_tiny/ad/ad01_fp32.tflite"
KWS_FLOAT = "mlperf_tiny/kws/kws_ref_model_float32.tflite"
IC_FLOAT = "mlperf_tiny/ic/pretrainedResnet.tflite"


@pytest.fixture
def ad(models_dir):
    return models_dir / AD_FLOAT


def ad_windows(models_dir) -> np.ndarray:
    spec = np.fromfile(models_dir / "mlperf_tiny/ad/normal_id_01_00000000_hist_librosa.bin", np.float32)
    spec = spec.reshape(200, 128)
    return np.stack([spec[i:i + 5].reshape(-1) for i in range(196)])[:, None, :]


# --- the int8 scheme ------------------------------------------------------------------------------


@pytest.mark.parametrize("lo,hi", [(-3.0, 5.0), (0.0, 6.0), (0.5, 2.0), (-2.0, -1.0), (-1e-3, 200.0)])
def test_activation_quant_holds_range_and_zero(lo: float, hi: float) -> None:
    q = activation_quant(lo, hi)
    assert -128 <= q.zp <= 127
    zero = quantize_values(np.array([0.0]), q)
    assert dequantize_values(zero, q)[0] == 0.0  # zero is exact (padding, ReLU)
    ends = dequantize_values(quantize_values(np.array([min(lo, 0), max(hi, 0)]), q), q)
    np.testing.assert_allclose(ends, [min(lo, 0), max(hi, 0)], atol=q.s)


def test_weights_symmetric_per_channel() -> None:
    spread = np.array([1, 10, 0.1, 5], np.float32).reshape(4, 1, 1, 1)
    w = np.random.default_rng(0).normal(0, 1, (4, 3, 3, 2)).astype(np.float32) * spread
    wq, q = quantize_weights(w, 0)
    assert wq.dtype == np.int8 and q.axis == 0 and np.all(q.zero_point == 0)
    assert np.all(np.abs(wq).reshape(4, -1).max(axis=1) == 127) and wq.min() >= -127
    np.testing.assert_allclose(dequantize_values(wq, q), w, atol=float(q.scale.max()) / 2 + 1e-7)


# --- calibration methods --------------------------------------------------------------------------


def stats_of(values: np.ndarray) -> TensorStats:
    s = TensorStats(float(values.min()), float(values.max()), values.size, int(np.count_nonzero(values == 0)))
    s.hist = np.histogram(values[values != 0], bins=HISTOGRAM_BINS, range=(s.lo, s.hi))[0]
    return s


def quantization_mse(values: np.ndarray, lo: float, hi: float) -> float:
    q = activation_quant(lo, hi)
    return float(np.mean((dequantize_values(quantize_values(values, q), q) - values) ** 2))


def test_calibration_methods_on_heavy_tailed_data() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1, 200_000), [40.0, -25.0]])
    s = stats_of(values)
    assert choose_range(s, "minmax") == (s.lo, s.hi) == (-25.0, 40.0)
    lo, hi = choose_range(s, "percentile", 99.9)
    assert -3.6 < lo < -3.0 and 3.0 < hi < 3.6
    mse_lo, mse_hi = choose_range(s, "mse")
    assert -25 < mse_lo < -2 and 2 < mse_hi < 40  # clips the outliers, by less than percentile does
    errors = {m: quantization_mse(values, *choose_range(s, m)) for m in ("minmax", "percentile", "mse")}
    assert errors["mse"] < 0.8 * errors["minmax"] and errors["mse"] < errors["percentile"]
    grid = [quantization_mse(values, -a, b) for a in np.linspace(1, 25, 25) for b in np.linspace(1, 40, 40)]
    assert errors["mse"] <= 1.05 * min(grid)


def test_calibration_of_post_relu_data_keeps_zero_at_the_bottom() -> None:
    values = np.maximum(np.random.default_rng(1).normal(0, 1, 100_000), 0)
    for method in ("minmax", "percentile", "mse"):
        lo, hi = choose_range(stats_of(values), method)
        assert lo == 0.0 and 2.0 < hi <= values.max()
        assert activation_quant(lo, hi).zp == -128


def test_calibrate_covers_every_tensor_that_needs_a_range() -> None:
    g = every_op_graph()
    x = np.random.default_rng(0).normal(0, 1, (32, 1, 8, 8, 3)).astype(np.float32)
    ranges = calibrate(g, x, "minmax")
    inherited = {"r1", "p2", "m4", "t8", "s9", "y"}  # relu6, pools, transpose, reshape, softmax
    assert set(ranges) == {"x", "c0", "d3", "c5", "a6", "r7", "f10"}
    assert not inherited & set(ranges)
    assert ranges["x"] == (float(x.min()), float(x.max()))


# --- quantize, bias correction, report -------------------------------------------------------------


def test_ad_ptq_runs_on_tflm_byte_equal(ad, models_dir, tmp_path) -> None:
    from tinyc.export import write_tflite

    fgraph = load_model(ad)
    windows = ad_windows(models_dir)
    for per_channel_fc in (False, True):
        qgraph = ptq(fgraph, windows[:60], "mse", True, per_channel_fc=per_channel_fc)
        w = qgraph.tensor(qgraph.nodes[0].inputs[1])
        assert (w.quant.scale.size > 1) == per_channel_fc
        path = tmp_path / f"ad_{per_channel_fc}.tflite"
        write_tflite(qgraph, path)
        x = quantize_input(qgraph, windows)
        ours = run_plan(lower(load_model(path)), [x])[qgraph.outputs[0]]
        assert ours.tobytes() == tflm_outputs(path, x).tobytes()


@pytest.mark.parametrize("key", ["kws", "ic"])
def test_ptq_conv_models_run_on_tflm_byte_equal(key: str, models_dir, tmp_path) -> None:
    from tinyc.export import write_tflite

    path, lo, hi = {"kws": (KWS_FLOAT, -123.4, 25.7), "ic": (IC_FLOAT, 0, 255)}[key]
    fgraph = load_model(models_dir / path)
    shape = fgraph.tensor(fgraph.inputs[0]).shape
    x = np.random.default_rng(2).uniform(lo, hi, (24, *shape)).astype(np.float32)
    qgraph = ptq(fgraph, x[:8])
    out = tmp_path / f"{key}.tflite"
    write_tflite(qgraph, out)
    xq = quantize_input(qgraph, x)
    ours = run_plan(lower(load_model(out)), [xq])[qgraph.outputs[0]]
    assert ours.tobytes() == tflm_outputs(out, xq).tobytes()


def test_bias_correction_removes_mean_error(ad, models_dir) -> None:
    fgraph = load_model(ad)
    calib = ad_windows(models_dir)[:94]
    plain = quantize(fgraph, calibrate(fgraph, calib, "minmax"))
    corrected = correct_bias(fgraph, plain, calib)
    changed = [n.inputs[2] for n in plain.nodes if n.op == "fully_connected"
               and not np.array_equal(plain.tensor(n.inputs[2]).data, corrected.tensor(n.inputs[2]).data)]
    assert len(changed) >= 8
    ref = run_plan(lower(fgraph), [calib])[fgraph.outputs[0]].astype(np.float64)

    def channel_bias(q):  # noqa: ANN001, ANN202
        y = dequantize_output(q, run_plan(lower(q), [quantize_input(q, calib)])[q.outputs[0]])
        return np.abs((y - ref).reshape(-1, ref.shape[-1]).mean(axis=0)).mean(), np.mean((y - ref) ** 2)

    (bias_before, mse_before), (bias_after, mse_after) = channel_bias(plain), channel_bias(corrected)
    assert bias_after < bias_before / 2
    assert mse_after < mse_before


def test_evaluate_report(models_dir) -> None:
    fgraph = load_model(models_dir / KWS_FLOAT)
    rng = np.random.default_rng(0)
    x = rng.uniform(-123.4, 25.7, (40, 1, 49, 10, 1)).astype(np.float32)
    report = evaluate(fgraph, ptq(fgraph, x, "minmax", False), x)
    assert report.classifier and report.samples == 40
    assert 0.8 <= report.top1_agreement <= 1.0
    assert [layer.node for layer in report.layers] == [n.name for n in fgraph.nodes]
    assert all(layer.snr_db > 10 for layer in report.layers)
    assert report.output_snr_db == report.layers[-1].snr_db
    doc = report.to_json()
    json.dumps(doc, allow_nan=False)
    assert doc["top1_agreement"] == report.top1_agreement


def test_hybrid_float_model_is_quantized_from_its_real_weights(models_dir) -> None:
    """kws_ref_model_float32.tflite stores its conv weights as int8 with one scale each ("hybrid"). PTQ
    works on the reals they stand for and re-quantizes them per channel, within half a step."""
    graph = load_model(models_dir / KWS_FLOAT)
    hybrid = [n for n in graph.nodes if len(n.inputs) > 1 and graph.tensor(n.inputs[1]).dtype == "int8"]
    assert len(hybrid) == 5
    x = np.random.default_rng(3).uniform(-123.4, 25.7, (16, 1, 49, 10, 1)).astype(np.float32)
    qgraph = ptq(graph, x, "minmax", False)
    for node in hybrid:
        w, wq = graph.tensor(node.inputs[1]), qgraph.tensor(qgraph.nodes[graph.nodes.index(node)].inputs[1])
        real, step = dequantize_values(w.data, w.quant), wq.quant.scale.reshape(-1, 1, 1, 1)
        error = np.abs(dequantize_values(wq.data, wq.quant) - real)
        assert wq.quant.per_channel and np.all(error <= step * 0.5001)
    assert graph.tensor(hybrid[0].inputs[1]).dtype == "int8"  # the caller's graph is left alone


# --- tinyc quantize ------------------------------------------------------------------------------


def test_cli_quantize_ad(ad, models_dir, tmp_path) -> None:
    windows = ad_windows(models_dir)
    np.save(tmp_path / "calib.npy", windows[:94])
    np.save(tmp_path / "eval.npy", windows[98:])
    out, report = tmp_path / "ad_int8.tflite", tmp_path / "report.json"
    code, err, stdout = invoke("quantize", ad, "--calib", tmp_path / "calib.npy",
                               "--eval", tmp_path / "eval.npy", "-o", out, "--report", report)
    assert code == 0, err
    assert "output SNR" in stdout and "fully_connected_9" in stdout
    doc = json.loads(report.read_text())
    assert doc["samples"] == 98 and len(doc["layers"]) == 10 and doc["output_snr_db"] > 30
    assert doc["classifier"] is False and doc["settings"]["method"] == "mse"
    qgraph = load_model(out)
    x = quantize_input(qgraph, windows)
    assert run_plan(lower(qgraph), [x])[qgraph.outputs[0]].tobytes() == tflm_outputs(out, x).tobytes()
    code, _, stdout = invoke("inspect", out)  # every tinyc command takes the output
    assert code == 0 and "int8" in stdout


def test_cli_quantize_folder_equals_stacked_file(ad, models_dir, tmp_path) -> None:
    windows = ad_windows(models_dir)[:20]
    np.save(tmp_path / "all.npy", windows)
    folder = tmp_path / "calib"
    folder.mkdir()
    np.save(folder / "a.npy", windows[:7])  # a batch
    for i in range(7, 20):
        np.save(folder / f"b{i:02d}.npy", windows[i])  # single samples
    for data, name in ((tmp_path / "all.npy", "one.tflite"), (folder, "folder.tflite")):
        options = ["--method", "percentile", "--no-bias-correction", "--report", tmp_path / f"{name}.md"]
        code, err, _ = invoke("quantize", ad, "--calib", data, "-o", tmp_path / name, *options)
        assert code == 0, err
    assert (tmp_path / "one.tflite").read_bytes() == (tmp_path / "folder.tflite").read_bytes()
    assert (tmp_path / "one.tflite.md").read_text().startswith("# Quantization report")


def test_cli_quantize_classifier_report(models_dir, tmp_path) -> None:
    x = np.random.default_rng(0).uniform(-123.4, 25.7, (16, 1, 49, 10, 1)).astype(np.float32)
    np.save(tmp_path / "calib.npy", x)
    code, err, stdout = invoke("quantize", models_dir / KWS_FLOAT, "--calib", tmp_path / "calib.npy",
                               "-o", tmp_path / "kws.tflite", "--method", "minmax")
    assert code == 0, err
    assert "top-1 agreement float vs int8" in stdout
    code, err, stdout = invoke("quantize", models_dir / KWS_FLOAT, "--calib", tmp_path / "calib.npy",
                               "-o", tmp_path / "kws.tflite", "--method", "minmax", "--no-classifier")
    assert code == 0 and "top-1" not in stdout


@pytest.mark.parametrize("case,needles", [
    ("empty", ["calibration data is empty"]),
    ("empty_folder", ["calibration data is empty", "no .npy files"]),
    ("shape", ["shape [3, 1, 641]", "[1, 640]"]),
    ("nan", ["NaN or infinite", "1 of 4 samples"]),
    ("int", ["must be floating point", "int8"]),
    ("unreadable", ["cannot read as .npy"]),
    ("missing", ["no such file or folder"]),
])
def test_cli_bad_calibration_data(case: str, needles: list[str], ad, tmp_path) -> None:
    data = tmp_path / "calib.npy"
    if case == "empty":
        np.save(data, np.zeros((0, 1, 640), np.float32))
    elif case == "empty_folder":
        data = tmp_path / "nothing"
        data.mkdir()
    elif case == "shape":
        np.save(data, np.zeros((3, 1, 641), np.float32))
    elif case == "nan":
        x = np.zeros((4, 1, 640), np.float32)
        x[2, 0, 5] = np.nan
        np.save(data, x)
    elif case == "int":
        np.save(data, np.zeros((4, 1, 640), np.int8))
    elif case == "unreadable":
        data.write_bytes(b"not a numpy file")
    code, err, _ = invoke("quantize", ad, "--calib", data, "-o", tmp_path / "out.tflite")
    assert_one_line_error(code, err, *needles)
    assert not (tmp_path / "out.tflite").exists()


def test_cli_int8_model_is_refused(models_dir, tmp_path) -> None:
    np.save(tmp_path / "c.npy", np.zeros((2, 1, 640), np.float32))
    code, err, _ = invoke("quantize", models_dir / MLPERF_INT8["ad"], "--calib", tmp_path / "c.npy",
                          "-o", tmp_path / "o.tflite")
    assert_one_line_error(code, err, "is not a float model", "int8")
