"""UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF: the reference runtime and the generated C equal TFLM byte for byte.

State semantics under test: a batch of N inputs is N independent inferences (TFLM reset before each, the host
runner calls `<name>_reset()` before each), and in sequence mode N consecutive invocations without reset
(run_sequence, the host runner's --sequence, TFLM invoked N times).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import tflm_outputs
from tests.recurrent_graphs import lstm_graph, svdf_graph
from tinyc.errors import GraphError, TinycError
from tinyc.export.tflite import write_tflite
from tinyc.pipeline import build_plan, compile_library, model_name
from tinyc.runtime import run_plan, run_sequence
from tinyc.targets import run_host

tflm_runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N_ZOO = 200
N_SINGLE = 100
N_SEQUENCE = 40
RECURRENT = ("unidirectional_sequence_lstm", "svdf")


def random_inputs(shape: tuple[int, ...], dtype: np.dtype, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return rng.normal(0, 1.5, (n, *shape)).astype(np.float32)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, (n, *shape)).astype(dtype)


def tflm_tensors(path: Path, batch: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """TFLM's value of each named tensor (graph outputs and intermediates) per input, reset before each."""
    import tflite

    sub = tflite.Model.GetRootAsModel(path.read_bytes(), 0).Subgraphs(0)
    # tensors without a name are t<index>, as the TFLite frontend names them
    index = {(sub.Tensors(i).Name() or b"").decode() or f"t{i}": i for i in range(sub.TensorsLength())}
    interp = tflm_runtime.Interpreter.from_file(
        str(path), intrepreter_config=tflm_runtime.InterpreterConfig.kPreserveAllTensors)
    out: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for x in batch:
        interp.reset()
        interp.set_input(x, 0)
        interp.invoke()
        for name in names:
            out[name].append(interp.GetTensor(index[name], 0)["tensor_data"].copy())
    return {name: np.stack(v) for name, v in out.items()}


def host_outputs(plan, x: np.ndarray, tmp: Path, sequence: bool = False) -> np.ndarray:  # noqa: ANN001
    out = plan.graph.tensor(plan.graph.outputs[0])
    name = model_name(plan)
    lib = tmp / f"lib_{name}"
    if not lib.exists():
        compile_library(plan, lib, "host", name)
    got = run_host(lib, name, x.reshape(len(x), -1), output_dtype=out.np_dtype, cflags=["-Werror"],
                   sequence=sequence)
    return got.reshape((len(x), *out.shape))


def equal_rows(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.all(a.reshape(len(a), -1).view(np.uint8) == b.reshape(len(b), -1).view(np.uint8), axis=1).sum())


def zoo_plan(models_dir: Path, model: str):  # noqa: ANN201
    path = models_dir / "zoo" / f"{model}.tflite"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    try:
        return path, build_plan(path)
    except TinycError as exc:  # another op of the model (not LSTM / SVDF) still unsupported
        if any(op in str(exc).lower() for op in RECURRENT):
            raise
        pytest.skip(f"{model}: {exc}")


ZOO = ["tflm_mnist_lstm_int8", "tflm_xtensa_micro_speech_lstm", "tflm_dtln_noise_suppression",
       "tflm_keyword_scrambled_8bit"]


@pytest.mark.parametrize("model", ZOO)
def test_zoo_model_equals_tflm(model: str, models_dir: Path, tmp_path: Path) -> None:
    """The model's output and every LSTM / SVDF output, ref and host, on N_ZOO random inputs."""
    path, plan = zoo_plan(models_dir, model)
    graph = plan.graph
    t = graph.tensor(graph.inputs[0])
    x = random_inputs(t.shape, t.np_dtype, N_ZOO, seed=12)
    recurrent = [s.outputs[0] for s in plan.steps if s.state]
    assert recurrent, f"{model} has no recurrent step"
    ours = run_plan(plan, [x], keep_all=True)
    theirs = tflm_tensors(path, x, graph.outputs + recurrent)
    for name in graph.outputs + recurrent:
        assert equal_rows(ours[name], theirs[name]) == N_ZOO, f"{model}: tensor '{name}' differs from TFLM"
    host = host_outputs(plan, x, tmp_path)
    assert equal_rows(host, ours[graph.outputs[0]]) == N_ZOO
    print(f"{model}: {N_ZOO} inputs, ref and host equal to TFLM on {N_ZOO}/{N_ZOO} "
          f"({len(recurrent)} recurrent tensors compared too)")


# not tflm_keyword_scrambled_8bit: its scrambled weights give the same output for every input and state, so a
# stream cannot be told from independent inferences there (its SVDF tensors are compared in the test above)
@pytest.mark.parametrize("model", ["tflm_dtln_noise_suppression", "tflm_mnist_lstm_int8"])
def test_zoo_sequence_equals_tflm(model: str, models_dir: Path, tmp_path: Path) -> None:
    """N_SEQUENCE invocations without reset: the state carried from each to the next as in TFLM."""
    path, plan = zoo_plan(models_dir, model)
    t = plan.graph.tensor(plan.graph.inputs[0])
    x = random_inputs(t.shape, t.np_dtype, N_SEQUENCE, seed=3)
    seq = run_sequence(plan, [x])[plan.graph.outputs[0]]
    assert equal_rows(seq, tflm_outputs(path, x, sequence=True)) == N_SEQUENCE
    assert equal_rows(host_outputs(plan, x, tmp_path, sequence=True), seq) == N_SEQUENCE
    independent = run_plan(plan, [x])[plan.graph.outputs[0]]
    assert equal_rows(seq, independent) < N_SEQUENCE, "the state made no difference: the test cannot tell"


LSTM_VARIANTS = {
    "batch_major": {},
    "time_major_batch2_clip": {"batch": 2, "time_major": True, "cell_clip": 0.5},
    "batch_major_batch2_cell_q15": {"batch": 2, "cell_power": -15, "steps": 3},
    "cell_q9_h_zp_min": {"cell_power": -9, "h_zp": -128, "units": 9, "features": 4},
}
SVDF_VARIANTS = {
    "int8_rank2": {},
    "int8_rank1_batch2": {"rank": 1, "batch": 2, "memory": 7},
    "int8_int16_state": {"time_dtype": "int16", "batch": 2},
    "float32_relu": {"dtype": "float32", "activation": "relu"},
    "float32_rank3": {"dtype": "float32", "rank": 3, "memory": 2},
}


def single_op_cases() -> list:
    return ([pytest.param(lstm_graph, kw, id=f"lstm-{k}") for k, kw in LSTM_VARIANTS.items()]
            + [pytest.param(svdf_graph, kw, id=f"svdf-{k}") for k, kw in SVDF_VARIANTS.items()])


@pytest.mark.parametrize(("build", "kwargs"), single_op_cases())
def test_single_op_equals_tflm(build, kwargs: dict, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "op.tflite"
    write_tflite(build(np.random.default_rng(5), **kwargs), path)
    plan = build_plan(path)
    t = plan.graph.tensor(plan.graph.inputs[0])
    x = random_inputs(t.shape, t.np_dtype, N_SINGLE, seed=9)
    ref = run_plan(plan, [x])[plan.graph.outputs[0]]
    assert equal_rows(ref, tflm_outputs(path, x)) == N_SINGLE
    assert equal_rows(host_outputs(plan, x, tmp_path), ref) == N_SINGLE
    seq = run_sequence(plan, [x[:N_SEQUENCE]])[plan.graph.outputs[0]]
    assert equal_rows(seq, tflm_outputs(path, x[:N_SEQUENCE], sequence=True)) == N_SEQUENCE
    assert equal_rows(host_outputs(plan, x[:N_SEQUENCE], tmp_path, sequence=True), seq) == N_SEQUENCE
    assert equal_rows(seq, ref[:N_SEQUENCE]) < N_SEQUENCE


def test_reset_api_in_header(tmp_path: Path) -> None:
    plan = build_plan_of(svdf_graph(np.random.default_rng(1)), tmp_path)
    compile_library(plan, tmp_path / "lib", "host", "m")
    header = (tmp_path / "lib" / "m.h").read_text()
    assert "void m_reset(void);" in header
    assert f"#define M_STATE_SIZE {plan.state_size}" in header and plan.state_size > 0


def build_plan_of(graph, tmp_path: Path):  # noqa: ANN001, ANN201
    path = tmp_path / "g.tflite"
    write_tflite(graph, path)
    return build_plan(path)


def test_unsupported_variants_are_refused() -> None:
    g = lstm_graph(np.random.default_rng(2))
    node = g.nodes[0]
    node.inputs[9] = "w1"  # a peephole weight
    with pytest.raises(GraphError, match="peephole"):
        g.verify()
    g = svdf_graph(np.random.default_rng(2))
    g.nodes[0].inputs[3] = ""
    with pytest.raises(GraphError, match="without a bias"):
        g.verify()
