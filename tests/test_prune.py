"""Pruning: the masks, prune() on real models (float and int8), the sensitivity scan and allocation,
bias correction after pruning, and `tinyc prune`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.conftest import MLPERF_INT8
from tinyc.cli import main
from tinyc.frontends import load_model
from tinyc.lower import lower
from tinyc.prune import allocate, channel_groups, compare, prunable, prune, scan, sparsity_report
from tinyc.prune.masks import channels, n_of_m, parse_n_m, unstructured
from tinyc.prune.prune import rows
from tinyc.quant import correct_bias, quantize_input
from tinyc.runtime import run_plan

AD_FLOAT = "mlperf_tiny/ad/ad01_fp32.tflite"
KWS_FLOAT = "mlperf_tiny/kws/kws_ref_model_float32.tflite"


def invoke(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stderr.strip(), result.stdout


def ad_windows(models_dir, n: int = 196) -> np.ndarray:
    spec = np.fromfile(models_dir / "mlperf_tiny/ad/normal_id_01_00000000_hist_librosa.bin", np.float32)
    spec = spec.reshape(200, 128)
    return np.stack([spec[i:i + 5].reshape(-1) for i in range(n)])[:, None, :]


# --- masks -----------------------------------------------------------------------------------------


def test_unstructured_mask_zeroes_the_smallest() -> None:
    mag = np.random.default_rng(0).random((8, 50))
    keep = unstructured(mag, 0.3)
    assert np.count_nonzero(~keep) == 120
    assert mag[~keep].max() <= mag[keep].min()


def test_channel_mask_drops_rows_of_smallest_norm() -> None:
    mag = np.abs(np.random.default_rng(1).normal(0, 1, (10, 20))) * np.arange(1, 11)[:, None]
    keep = channels(mag, 0.4)
    assert np.all(keep.all(axis=1) | ~keep.any(axis=1))  # whole rows
    assert sorted(np.flatnonzero(~keep.any(axis=1))) == [0, 1, 2, 3]


def test_n_of_m_mask() -> None:
    mag = np.random.default_rng(2).random((6, 18))  # 4 full groups of 4 and a partial one of 2
    keep = n_of_m(mag, 2, 4)
    full = keep[:, :16].reshape(6, 4, 4)
    assert np.all(full.sum(axis=2) == 2)
    kept_min = np.where(full, mag[:, :16].reshape(6, 4, 4), np.inf).min(axis=2)
    dropped_max = np.where(~full, mag[:, :16].reshape(6, 4, 4), -np.inf).max(axis=2)
    assert np.all(kept_min >= dropped_max)
    assert np.all(keep[:, 16:].sum(axis=1) == 2)  # a partial group of 2 keeps both
    assert parse_n_m("1:4") == (1, 4)
    for bad in ("4:2", "2-4", "0:4"):
        with pytest.raises(ValueError):
            parse_n_m(bad)


# --- prune() ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["unstructured", "channel", "n:m"])
def test_prune_float_models(method: str, models_dir) -> None:
    for path in (AD_FLOAT, KWS_FLOAT):
        graph = load_model(models_dir / path)
        before = {n: t.data.copy() for n, t in graph.tensors.items() if t.is_const}
        pruned = prune(graph, 0.5, method)
        assert all(np.array_equal(graph.tensors[n].data, d) for n, d in before.items())  # input untouched
        groups = channel_groups(graph)
        sources = {g.source.name for g in groups} | {m.name for g in groups for m in g.members}
        for node, layer in zip(prunable(pruned), sparsity_report(pruned), strict=True):
            w = rows(pruned.tensor(node.inputs[1]).data, node.op)
            if method == "unstructured":
                assert abs(layer.sparsity - 0.5) < 0.01
            elif method == "channel":  # removable channels (depthwise ones with their source) only
                removable = node.name in sources
                assert layer.zero_channels == (round(0.5 * layer.channels) if removable else 0)
                dead = ~w.any(axis=1)
                if len(node.inputs) > 2:
                    assert np.all(pruned.tensor(node.inputs[2]).data[dead] == 0)
            else:
                k = w.shape[1] - w.shape[1] % 4
                assert np.all((w[:, :k].reshape(w.shape[0], -1, 4) != 0).sum(axis=2) <= 2)
        pruned.verify()


def test_prune_int8_model_runs_on_tflm(models_dir, tmp_path) -> None:
    from tflite_micro.python.tflite_micro import runtime

    from tinyc.export import write_tflite

    graph = load_model(models_dir / MLPERF_INT8["kws"])
    pruned = prune(graph, 0.3)
    assert all(abs(x.sparsity - 0.3) < 0.02 for x in sparsity_report(pruned))
    path = tmp_path / "kws_pruned.tflite"
    write_tflite(pruned, path)
    x = np.random.default_rng(0).integers(-128, 128, (20, 1, 49, 10, 1), dtype=np.int8)
    ours = run_plan(lower(load_model(path)), [x])[graph.outputs[0]]
    interp = runtime.Interpreter.from_file(str(path))
    for i in range(len(x)):
        interp.set_input(x[i], 0)
        interp.invoke()
        assert interp.get_output(0).tobytes() == ours[i].tobytes()


# --- sensitivity, allocation, bias correction ------------------------------------------------------------


def test_bias_correction_after_pruning(models_dir) -> None:
    graph = load_model(models_dir / AD_FLOAT)
    calib, evaluation = ad_windows(models_dir)[:94], ad_windows(models_dir)[98:]
    pruned = prune(graph, 0.5)
    corrected = correct_bias(graph, pruned, calib)
    assert sparsity_report(corrected) == sparsity_report(pruned)  # the weights are the same
    before, after = compare(graph, pruned, evaluation), compare(graph, corrected, evaluation)
    assert after.output_snr_db > before.output_snr_db + 10


def test_scan_and_allocate(models_dir) -> None:
    graph = load_model(models_dir / AD_FLOAT)
    table = scan(graph, ad_windows(models_dir)[:40], levels=(0.1, 0.5, 0.9))
    assert list(table) == [n.name for n in prunable(graph)]
    assert all(row[0.1] > row[0.9] for row in table.values())
    alloc = allocate(graph, table, 0.6)
    assert set(alloc.values()) <= {0.0, 0.1, 0.5, 0.9}
    layers = sparsity_report(prune(graph, alloc))
    assert sum(x.zeros for x in layers) / sum(x.params for x in layers) >= 0.6


def test_allocate_prunes_the_insensitive_layer_first(models_dir) -> None:
    graph = load_model(models_dir / AD_FLOAT)
    names = [n.name for n in prunable(graph)]
    table = {name: {0.5: 20.0, 0.9: 10.0} for name in names}
    table[names[0]] = {0.5: 60.0, 0.9: 50.0}  # fully_connected_0: 31% of the weights, hardly matters
    alloc = allocate(graph, table, 0.25)
    assert alloc[names[0]] == 0.9 and all(alloc[n] == 0.0 for n in names[1:])


# --- tinyc prune -----------------------------------------------------------------------------------


def test_cli_prune_then_quantize(models_dir, tmp_path) -> None:
    model = models_dir / AD_FLOAT
    np.save(tmp_path / "data.npy", ad_windows(models_dir, 60))
    out, report = tmp_path / "pruned.tflite", tmp_path / "report.json"
    code, err, stdout = invoke("prune", model, "--sparsity", "0.5", "--data", tmp_path / "data.npy",
                               "-o", out, "--allocate", "sensitivity", "--report", report)
    assert code == 0, err
    assert "Sensitivity" in stdout and "output SNR vs the unpruned model" in stdout
    doc = json.loads(report.read_text())
    assert doc["sparsity"] >= 0.5 and doc["settings"]["bias correction"] is True
    assert doc["evaluation"]["output_snr_db"] > 20 and len(doc["sensitivity"]) == 10
    assert doc["macs_on_zero_weights"] == doc["zeros"]  # fully connected: one MAC per weight
    pruned = load_model(out)
    assert pruned.tensor(pruned.nodes[0].inputs[1]).dtype == "float32"
    code, err, _ = invoke("quantize", out, "--calib", tmp_path / "data.npy", "-o", tmp_path / "pq.tflite")
    assert code == 0, err
    qgraph = load_model(tmp_path / "pq.tflite")
    zeros = sum(int(np.count_nonzero(qgraph.tensor(n.inputs[1]).data == 0)) for n in prunable(qgraph))
    assert zeros >= doc["zeros"]  # pruned weights stay exactly zero in int8
    assert run_plan(lower(qgraph), [quantize_input(qgraph, ad_windows(models_dir, 3))])


def test_cli_prune_n_m_without_data(models_dir, tmp_path) -> None:
    code, err, stdout = invoke("prune", models_dir / KWS_FLOAT, "--method", "n:m", "--n-m", "1:4",
                               "-o", tmp_path / "p.tflite")
    assert code == 0, err
    assert "| 75.0% |" in stdout


@pytest.mark.parametrize("args,needle", [
    ([], "--sparsity is required"),
    (["--sparsity", "0.5", "--allocate", "sensitivity"], "needs sample inputs"),
    (["--method", "n:m", "--n-m", "4:2"], "0 < N < M"),
])
def test_cli_prune_errors(args: list[str], needle: str, models_dir, tmp_path) -> None:
    code, err, _ = invoke("prune", models_dir / AD_FLOAT, "-o", tmp_path / "p.tflite", *args)
    assert code == 2 and len(err.splitlines()) == 1 and needle in err, err
