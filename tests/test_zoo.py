"""Every model of ../shared/models/zoo (as people deploy them with TFLM): it runs, byte-equal to TFLM on
`--target ref` and `--target host` over N_RANDOM random inputs and equal to the reference on two emulated
boards, or tinyc refuses it with one error line (exit 2) naming what is missing.

EXPECTED is the status of each model: "runs", or "refused: <a piece of the error line>". A helper who adds the
missing op or dtype flips the entry to "runs". A model in the folder that is not in the table fails, so the
table stays complete.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import MODELS
from tests.helpers import assert_one_line_error, invoke, tflm_run
from tinyc.pipeline import build_plan, run_model

tflm_runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

ZOO = MODELS / "zoo"
EXPECTED = {
    "mlperf_ad_toycar_quant_fullint_micro": "runs",
    "mlperf_ic_resnet_large_int8": "runs",
    "tflm_audio_preprocessor_int8": "runs",
    "tflm_dtln_noise_suppression": "runs",
    "tflm_hello_world_float": "runs",
    "tflm_hello_world_int8": "runs",
    "tflm_keyword_scrambled_8bit": "runs",
    "tflm_micro_speech_quantized": "runs",
    "tflm_mnist_lstm_int8": "runs",
    "tflm_person_detect": "runs",
    "tflm_xtensa_micro_speech_lstm": "runs",
}
N_RANDOM = 200
BOARDS = {"nucleo-l4r5zi": 3, "esp32-c3": 2}  # inputs per emulated board
HEAVY_MACS = 5_000_000  # models beyond this run one input per board (the emulator is the slow part)


def zoo_model(stem: str):  # noqa: ANN201
    if not ZOO.is_dir():
        pytest.skip("../shared/models/zoo not found: the third-party zoo models are not in this checkout")
    path = ZOO / f"{stem}.tflite"
    if not path.is_file():
        pytest.skip(f"{path.name} is not in ../shared/models/zoo")
    return path


def random_inputs(graph, n: int, seed: int) -> list[np.ndarray]:  # noqa: ANN001
    """Random values over each input's whole range: integers uniform, floats over several magnitudes of the
    quantization range behind the model's QUANTIZE (beyond it too, to exercise the clamps)."""
    rng = np.random.default_rng(seed)
    batches = []
    for name in graph.inputs:
        t = graph.tensor(name)
        if t.dtype == "float32":
            spread = rng.choice([0.1, 1.0, 10.0, 1000.0], size=(n,) + (1,) * len(t.shape))
            batches.append((rng.standard_normal((n, *t.shape)) * spread).astype(np.float32))
        else:
            info = np.iinfo(t.np_dtype)
            batches.append(rng.integers(info.min, info.max, size=(n, *t.shape), endpoint=True).astype(t.np_dtype))
    return batches


def test_table_lists_every_zoo_model() -> None:
    if not ZOO.is_dir():
        pytest.skip("../shared/models/zoo not found")
    assert sorted(p.stem for p in ZOO.glob("*.tflite")) == sorted(EXPECTED)


RUNS = sorted(k for k, v in EXPECTED.items() if v == "runs")
REFUSED = sorted(k for k, v in EXPECTED.items() if v != "runs")


@pytest.fixture(scope="module", params=RUNS)
def running(request):  # noqa: ANN001, ANN201
    """A model that runs: its plan, random inputs and the reference runtime's outputs."""
    path = zoo_model(request.param)
    plan = build_plan(path)
    x = random_inputs(plan.graph, N_RANDOM, seed=sum(map(ord, request.param)))
    ref, _ = run_model(plan, x, "ref")
    return request.param, path, plan, x, ref


def test_ref_and_host_equal_tflm(running) -> None:  # noqa: ANN001
    stem, path, plan, x, ref = running
    theirs = tflm_run(path, x, len(plan.graph.outputs))
    host, _ = run_model(plan, x, "host")
    for k, name in enumerate(plan.graph.outputs):
        dtype = plan.graph.tensor(name).np_dtype
        assert ref[k].dtype == host[k].dtype == theirs[k].dtype == dtype
        rows = lambda a: a.reshape(N_RANDOM, -1).view(np.uint8)  # noqa: E731  (bytes: NaN compares too)
        ref_bad = np.flatnonzero(np.any(rows(ref[k]) != rows(theirs[k]), axis=1))
        host_bad = np.flatnonzero(np.any(rows(host[k]) != rows(ref[k]), axis=1))
        print(f"{stem} output {k}: {N_RANDOM} inputs, ref == TFLM on {N_RANDOM - ref_bad.size}, "
              f"host == ref on {N_RANDOM - host_bad.size}")
        assert ref_bad.size == 0, f"{stem}: inputs {ref_bad[:5].tolist()} differ from TFLM"
        assert host_bad.size == 0, f"{stem}: inputs {host_bad[:5].tolist()} differ on the host"


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_emulated_boards_equal_reference(running, board) -> None:  # noqa: ANN001
    stem, _, plan, x, ref = running
    n = 1 if sum(step.macs for step in plan.steps) > HEAVY_MACS else BOARDS[board]
    ours, report = run_model(plan, [a[:n] for a in x], board)
    assert len(report["instructions_per_inference"]) == n
    for k in range(len(ref)):
        assert ours[k].tobytes() == ref[k][:n].tobytes(), f"{stem} on {board}: output {k} differs"


@pytest.mark.parametrize("stem", REFUSED)
def test_refused_with_one_line(stem, tmp_path) -> None:
    path = zoo_model(stem)
    expected = EXPECTED[stem].removeprefix("refused: ")
    code, err, _ = invoke("inspect", path)
    assert_one_line_error(code, err, expected, str(path))
