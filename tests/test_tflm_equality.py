"""The reference runtime equals TensorFlow Lite Micro byte for byte on the MLPerf Tiny int8 models."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import MLPERF_INT8
from tests.helpers import tflm_outputs
from tinyc.frontends import load_model
from tinyc.lower import lower
from tinyc.runtime import run_plan

tflm_runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N_RANDOM = 1000


def inputs_for(key: str, models_dir, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(1234)
    batch = [rng.integers(-128, 128, size=(N_RANDOM, *shape), dtype=np.int8),
             np.zeros((1, *shape), np.int8),
             np.arange(np.prod(shape)).astype(np.uint8).view(np.int8).reshape((1, *shape))]  # ramp
    if key == "kws":
        batch.append(np.load(models_dir / "mlperf_tiny/kws/kws_sample_input.npy").reshape((1, *shape)))
    return np.concatenate(batch)


@pytest.mark.parametrize("key", sorted(MLPERF_INT8))
def test_outputs_equal_tflm(key: str, models_dir) -> None:
    path = models_dir / MLPERF_INT8[key]
    graph = load_model(path)
    x = inputs_for(key, models_dir, graph.tensor(graph.inputs[0]).shape)
    ours = run_plan(lower(graph), [x])[graph.outputs[0]]
    theirs = tflm_outputs(path, x)
    differing = np.flatnonzero(np.any(ours.reshape(len(x), -1) != theirs.reshape(len(x), -1), axis=1))
    print(f"{key}: compared {len(x)} inputs with TFLM, {len(differing)} differ")
    assert len(x) >= N_RANDOM + 2
    assert differing.size == 0, f"{key}: inputs {differing[:10].tolist()} differ from TFLM"


def test_anchor_bytes(models_dir) -> None:
    """The output bytes TFLM gives on the Cortex-M4F (../shared/ANCHORS.md) for all-zero input."""
    expected = {"kws": "ff80808080ff808080808081", "ic": "bb800c8385848380aa80"}
    for key, hexbytes in expected.items():
        graph = load_model(models_dir / MLPERF_INT8[key])
        x = np.zeros((1, *graph.tensor(graph.inputs[0]).shape), np.int8)
        assert run_plan(lower(graph), [x])[graph.outputs[0]].tobytes().hex() == hexbytes


@pytest.mark.parametrize("key", sorted(MLPERF_INT8))
def test_every_intermediate_tensor_equals_tflm(key: str, models_dir) -> None:
    """Each activation, not only the output, so a wrong kernel is pinned down to its node."""
    import tflite

    path = models_dir / MLPERF_INT8[key]
    graph = load_model(path)
    plan = lower(graph)
    sub = tflite.Model.GetRootAsModel(path.read_bytes(), 0).Subgraphs(0)
    index_of = {sub.Tensors(i).Name().decode(): i for i in range(sub.TensorsLength())}
    interp = tflm_runtime.Interpreter.from_file(
        str(path), intrepreter_config=tflm_runtime.InterpreterConfig.kPreserveAllTensors)
    rng = np.random.default_rng(7)
    shape = graph.tensor(graph.inputs[0]).shape
    compared = 0
    for _ in range(5):
        x = rng.integers(-128, 128, size=(1, *shape), dtype=np.int8)
        values = run_plan(plan, [x], keep_all=True)
        interp.set_input(x[0], 0)
        interp.invoke()
        for step in plan.steps:
            name = step.outputs[0]
            theirs = interp.GetTensor(index_of[name], 0)["tensor_data"]
            assert values[name][0].tobytes() == theirs.tobytes(), f"{key}: {step.node} ({step.kernel}) differs"
            compared += 1
    assert compared == 5 * len(plan.steps)
