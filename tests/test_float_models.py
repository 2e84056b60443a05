"""The MLPerf Tiny float32 .tflite models through the reference runtime against full TFLite.

The reference is ai_edge_litert's Interpreter with its reference kernels (BUILTIN_REF). Tolerance:
rtol 1e-5 and atol 1e-5 * max|reference| per model (tinyc's float kernels sum in float64,
TFLite in float32). The keyword-spotting model is "hybrid": float activations, int8 conv
weights; TFLite quantizes each conv's input on the fly, and so does tinyc's conv2d_hybrid kernel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from tinyc.frontends import load_model
from tinyc.lower import lower
from tinyc.runtime import run_plan

RTOL = 1e-5
N_INPUTS = 50

# model file, input range of the random samples (the features each model was trained on)
MODELS = {
    "kws": ("mlperf_tiny/kws/kws_ref_model_float32.tflite", (-120.0, 20.0)),  # MFCCs
    "ic": ("mlperf_tiny/ic/pretrainedResnet.tflite", (0.0, 255.0)),  # pixels
    "ad": ("mlperf_tiny/ad/ad01_fp32.tflite", (-67.0, 2.0)),  # log-mel energies
}


def tflite_reference(path: Path, x: np.ndarray) -> np.ndarray:
    interp = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    results = []
    for sample in x:
        interp.set_tensor(inp["index"], sample)
        interp.invoke()
        results.append(interp.get_tensor(out["index"]).copy())
    return np.stack(results)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_float_model_matches_tflite(models_dir: Path, model: str) -> None:
    rel, (lo, hi) = MODELS[model]
    path = models_dir / rel
    graph = load_model(path)
    shape = graph.tensor(graph.inputs[0]).shape
    x = np.random.default_rng(7).uniform(lo, hi, (N_INPUTS,) + shape).astype(np.float32)
    got = run_plan(lower(graph), [x])[graph.outputs[0]]
    ref = tflite_reference(path, x)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=RTOL * float(np.abs(ref).max()))


ALL_TFLITE = sorted(rel for rel, _ in MODELS.values()) + [
    "mlperf_tiny/kws/kws_ref_model.tflite", "mlperf_tiny/ic/pretrainedResnet_quant.tflite",
    "mlperf_tiny/ad/ad01_int8.tflite"]


@pytest.mark.parametrize("rel", ALL_TFLITE)
def test_default_passes_keep_tflite_outputs_bit_exact(models_dir: Path, rel: str) -> None:
    """tinyc.passes on TFLite graphs: nothing to fold in these, and int8 graphs must keep their bytes."""
    from tinyc.passes import run_default_passes

    graph = load_model(models_dir / rel)
    t = graph.tensor(graph.inputs[0])
    rng = np.random.default_rng(3)
    if t.dtype == "int8":
        x = rng.integers(-128, 128, (8,) + t.shape).astype(np.int8)
    else:
        x = rng.uniform(-1, 1, (8,) + t.shape).astype(np.float32)
    before = run_plan(lower(graph), [x])[graph.outputs[0]]
    passed = run_default_passes(load_model(models_dir / rel))
    np.testing.assert_array_equal(run_plan(lower(passed), [x])[passed.outputs[0]], before)
