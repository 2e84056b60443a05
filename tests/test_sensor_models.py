"""Real data (benchmarks/compress/sensor_models.py, which writes sensor_models.md): a digits CNN
(scikit-learn load_digits) and a BasicMotions 1-D CNN (the IMU set in sktime's wheel) trained in PyTorch,
quantized and pruned by tinyc. int8 costs the digits model < 1 point, 50% structured pruning with
fine-tuning < 2 points; pruning saves flash in the generated C (report.json and the board's ELF); the
pruned int8 models run byte-identical on the reference runtime, the host and an emulated Cortex-M4F."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from benchmarks.compress.sensor_models import BOARD, read_ts, run_task, sktime_data_dir, tasks  # noqa: E402
from tinyc.pipeline import run_model, run_on_target, run_reference  # noqa: E402

STRUCTURED = "50% channels removed + fine-tuning"


@pytest.fixture(scope="module")
def all_tasks():
    try:
        sktime_data_dir()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return tasks()


@pytest.fixture(scope="module")
def results(all_tasks):
    cache: dict = {}

    def get(key: str) -> dict:
        if key not in cache:
            cache[key] = {v.name: v for v in run_task(key, all_tasks[key], log=lambda *_: None)}
        return cache[key]

    return get


def test_read_ts(all_tasks) -> None:
    x, labels = read_ts(sktime_data_dir() / "BasicMotions" / "BasicMotions_TRAIN.ts")
    assert x.shape == (40, 6, 100) and x.dtype == np.float32
    assert sorted(set(labels)) == ["Badminton", "Running", "Standing", "Walking"]
    d = all_tasks["BasicMotions"].data
    assert d.x_test.shape == (40, 6, 100) and abs(float(d.x_train.mean())) < 1e-5
    assert all_tasks["digits"].data.x_train.shape == (1347, 1, 8, 8)


def test_digits_accuracy_and_flash(results) -> None:
    r = results("digits")
    base, pruned = r["float -> int8"], r[STRUCTURED]
    print({k: (v.float_acc, v.int8_acc, v.weight_bytes) for k, v in r.items()})
    assert base.float_acc >= 0.97
    assert base.float_acc - base.int8_acc < 0.01  # int8 costs less than 1 point
    assert base.float_acc - pruned.int8_acc < 0.02  # 50% structured + fine-tuning (then int8): < 2 points
    assert base.float_acc - pruned.float_acc < 0.02
    assert pruned.weight_bytes < 0.5 * base.weight_bytes  # channels removed from the generated C
    assert r["50% channels removed, no fine-tuning"].int8_acc < pruned.int8_acc  # fine-tuning recovers
    for name in ("50% unstructured + fine-tuning", "2:4 + fine-tuning"):
        assert r[name].weight_bytes < 0.7 * base.weight_bytes, name  # compact encodings
        assert base.float_acc - r[name].int8_acc < 0.02, name
        assert any("sparse" in k for k in r[name].kernels), name


def test_basic_motions_accuracy_and_flash(results) -> None:
    r = results("BasicMotions")
    base, pruned = r["float -> int8"], r[STRUCTURED]
    print({k: (v.float_acc, v.int8_acc, v.weight_bytes) for k, v in r.items()})
    assert base.float_acc >= 0.8 and base.int8_acc >= 0.8  # 40 test recordings; reported in sensor_models.md
    assert pruned.weight_bytes < 0.5 * base.weight_bytes


@pytest.mark.parametrize("key", ["digits", "BasicMotions"])
def test_pruned_int8_bit_exact_ref_host_board(results, all_tasks, key: str) -> None:
    """Done-when 4: the pruned + quantized models give the same bytes on the reference runtime, the
    generated C on the host and on an emulated NUCLEO-L4R5ZI, on at least 50 inputs; the ELF's weights
    shrink with pruning when the board build optimizes for size (balanced may trade the sparse kernels'
    flash back for speed, see tinyc/codegen/variants.py)."""
    r = results(key)
    d = all_tasks[key].data
    flash = {}
    names = [STRUCTURED, "float -> int8"] + (["50% unstructured + fine-tuning", "2:4 + fine-tuning"]
                                             if key == "digits" else [])
    for name in names:
        v = r[name]
        from tinyc.quant import quantize_input

        x = quantize_input(v.qgraph, np.concatenate([d.x_test, d.x_train])[:, None])[:60]
        ref = run_reference(v.plan, x)
        host, _ = run_on_target(v.plan, x, "host")
        assert host.tobytes() == ref.tobytes(), name
        n = 60 if name == STRUCTURED else 10
        (board,), report = run_model(v.plan, [x[:n]], BOARD, goal="size")
        assert board.tobytes() == ref[:n].tobytes(), name
        flash[name] = report["flash"]["weights"]
    assert flash[STRUCTURED] < 0.5 * flash["float -> int8"]
    for name in names[2:]:
        assert flash[name] < 0.7 * flash["float -> int8"], name
