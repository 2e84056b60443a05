"""Numeric inputs: NaN, infinite and out-of-range option values are one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import assert_one_line_error, invoke, run_targets

REPO = Path(__file__).resolve().parents[1]
SINE = REPO / "examples" / "sine.onnx"

BAD_OPTIONS = [
    ("generate", "--temperature", ["nan", "inf", "-inf", "-1", "-0.5"]),
    ("generate", "--topp", ["nan", "inf", "0", "-1", "2", "1.0001"]),
    ("quantize", "--percentile", ["nan", "inf", "50", "100.5", "-3"]),
    ("prune", "--sparsity", ["nan", "inf", "-0.1", "1", "1.5"]),
    ("bench", "--tolerance", ["nan", "inf", "-0.01"]),
    ("bench", "--timeout", ["nan", "inf", "0", "-5"]),
    ("bench", "--seed", ["-1"]),
]


def _args(command: str, option: str, value: str, tmp: Path) -> list[str]:
    model = str(SINE)
    return {
        "generate": ["generate", str(tmp / "m.bin"), "--tokenizer", str(tmp / "t.bin")],
        "quantize": ["quantize", model, "--calib", str(tmp / "c.npy"), "-o", str(tmp / "q.tflite"),
                     "--method", "percentile"],
        "prune": ["prune", model, "-o", str(tmp / "p.tflite")],
        "bench": ["bench", "-m", model, "-b", "host"],
    }[command] + [f"{option}={value}"]


@pytest.mark.parametrize("command, option, value",
                         [(c, o, v) for c, o, values in BAD_OPTIONS for v in values])
def test_bad_numbers_are_one_line_errors(command: str, option: str, value: str, tmp_path: Path) -> None:
    code, err, _ = invoke(*_args(command, option, value, tmp_path))
    assert_one_line_error(code, err, option)
    assert not list(tmp_path.iterdir())  # nothing was run, nothing written


@pytest.mark.parametrize("command, option, value", [("generate", "--topp", "1"), ("generate", "--temperature", "0"),
                                                     ("prune", "--sparsity", "0"), ("quantize", "--percentile",
                                                                                       "100")])
def test_edge_values_are_accepted(command: str, option: str, value: str, tmp_path: Path) -> None:
    code, err, _ = invoke(*_args(command, option, value, tmp_path))
    assert option not in err  # the option passed; the command fails later on its missing files


def _tiny_checkpoint(path: Path, poke: tuple[str, float] | None = None) -> Path:
    from tinyc.llm.checkpoint import save_checkpoint
    from tinyc.llm.model import LlamaConfig, LlamaModel

    config = LlamaConfig(dim=16, hidden_dim=24, n_layers=2, n_heads=2, n_kv_heads=2, vocab_size=8, seq_len=4)
    rng = np.random.default_rng(3)
    weights = {k: (rng.standard_normal(s) * 0.2).astype(np.float32) for k, s in config.weight_shapes().items()}
    if poke is not None:
        weights[poke[0]].reshape(-1)[5] = poke[1]
    # save_checkpoint does not check: it writes what a hostile file could hold
    return save_checkpoint(LlamaModel(config=config, weights=weights), path)


@pytest.mark.parametrize("key, value", [("wq", 3e38), ("wq", -3e38), ("tok_emb", 3e38), ("w2", -1e30),
                                        ("rms_final", 1e38), ("rms_att", 1e20)])
def test_checkpoint_weights_that_could_overflow_are_refused(key: str, value: float, tmp_path: Path) -> None:
    path = _tiny_checkpoint(tmp_path / "big.bin", (key, value))
    code, err, _ = invoke("compile", str(path), "-o", str(tmp_path / "out"))
    assert_one_line_error(code, err, "big.bin", "weights too large for float32")
    assert not (tmp_path / "out").exists()


def test_checkpoint_bound_accepts_real_weights(tmp_path: Path, models_dir: Path) -> None:
    from tinyc.llm.checkpoint import MAGNITUDE_LIMIT, load_checkpoint, magnitude_bound

    assert magnitude_bound(load_checkpoint(_tiny_checkpoint(tmp_path / "ok.bin")))[0] < 1e9
    peak, _ = magnitude_bound(load_checkpoint(models_dir / "llm" / "stories260K.bin"))
    assert peak < MAGNITUDE_LIMIT / 1e15  # a real checkpoint is nowhere near the limit (1.2e14 vs 3.2e32)


def test_tiny_sampling_temperature_is_refused(tmp_path: Path) -> None:
    code, err, _ = invoke("generate", str(tmp_path / "m.bin"), "--tokenizer", str(tmp_path / "t.bin"),
                          "--temperature", "1e-30")
    assert_one_line_error(code, err, "--temperature", "below")


@pytest.mark.parametrize("temperature, topp", [(float("nan"), 0.9), (float("inf"), 0.9), (-1.0, 0.9),
                                               (0.8, float("nan")), (0.8, float("inf"))])
def test_sampler_refuses_non_finite_settings(temperature: float, topp: float) -> None:
    from tinyc.errors import InputError
    from tinyc.llm import Sampler

    with pytest.raises(InputError):
        Sampler(32, temperature, topp, 1)


def test_run_refuses_non_finite_float_inputs(tmp_path: Path) -> None:
    for bad in (np.nan, np.inf, -np.inf):
        x = np.linspace(0, 1, 4, dtype=np.float32).reshape(4, 1, 1)
        x[2, 0, 0] = bad
        np.save(tmp_path / "x.npy", x)
        code, err, _ = invoke("run", SINE, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
        assert_one_line_error(code, err, "x.npy", "flat index 2", "finite")
        assert not (tmp_path / "y.npy").exists()


def test_run_extreme_float_inputs_same_bytes_on_ref_and_host(tmp_path: Path) -> None:
    """The issue's case: a float model (here every float kernel, exported to .tflite) on inputs of 3e38 and the
    other extremes answers with the same bytes on `ref` and `host`."""
    from tests.graphs import every_op_graph
    from tests.test_float_kernels import extreme_inputs
    from tinyc.export import write_tflite

    graph = every_op_graph(4)
    model = tmp_path / "every_op.tflite"
    write_tflite(graph, model)
    np.save(tmp_path / "x.npy", extreme_inputs(graph.tensor(graph.inputs[0]).shape, seed=4))
    outputs = run_targets(model, tmp_path / "x.npy", tmp_path)
    assert outputs["ref"].tobytes() == outputs["host"].tobytes()
    assert np.isnan(outputs["ref"]).any() and np.isfinite(outputs["ref"]).any()
