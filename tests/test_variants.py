"""Sparse or dense per core (tinyc/codegen/variants.py): the measured cost model sends MLPerf VWW's mostly-zero
1x1 convolutions back to the dense kernel on the Cortex-M55 for speed, keeps them sparse for size, and either
choice gives the reference's bytes on the host and on the emulated core; the DSP cores' fully connected layers
take the paired kernel, and VWW's thirteen depthwise layers (nine shapes) and six of its pointwise convs their
compact form except for speed."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tinyc.boards import load_board
from tinyc.codegen.kernels import compact_table
from tinyc.codegen.variants import SPARSE_KERNELS, cost_model, for_core, predicted, takes_compact
from tinyc.pipeline import build_plan, compile_library, run_model
from tinyc.runtime import run_plan

VWW = "mlperf_tiny/vww/vww_96_int8.tflite"


@pytest.fixture(scope="module")
def vww(models_dir):  # noqa: ANN001, ANN201
    return build_plan(models_dir / VWW)


def sparse_nodes(plan) -> set[str]:  # noqa: ANN001
    return {s.node for s in plan.steps if s.kernel in SPARSE_KERNELS}


def test_host_and_size_keep_the_lowering_choice(vww) -> None:  # noqa: ANN001
    assert len(sparse_nodes(vww)) == 7
    assert for_core(vww, None, "speed") is vww
    assert sparse_nodes(for_core(vww, load_board("corstone-300"), "size")) == sparse_nodes(vww)


def test_an_unmeasured_core_keeps_the_lowering_choice(vww) -> None:  # noqa: ANN001
    step = next(s for s in vww.steps if s.kernel in SPARSE_KERNELS)
    assert "no-such-core" not in cost_model()
    assert predicted(step, "no-such-core") is None


def test_m55_speed_takes_dense_for_the_half_empty_layer(vww) -> None:  # noqa: ANN001
    """conv_2d_14 is half zeros (mask encoding): on the M55 its Helium dense kernel is far faster (measured
    0.14 M vs 2.55 M instructions), on the M4F too, so speed and balanced make it dense on both."""
    step = next(s for s in vww.steps if s.node == "conv_2d_14")
    for core in ("cortex-m55", "cortex-m4f"):
        dense, sparse = predicted(step, core)
        assert dense < sparse, core
    for goal in ("speed", "balanced"):
        assert "conv_2d_14" not in sparse_nodes(for_core(vww, load_board("corstone-300"), goal))


def test_speed_never_predicts_slower_than_size(vww) -> None:  # noqa: ANN001
    for board_id in ("rpi-pico", "nucleo-l4r5zi", "corstone-300", "esp32-c3"):
        core = load_board(board_id).core
        chosen = for_core(vww, load_board(board_id), "speed")
        for before, after in zip(vww.steps, chosen.steps, strict=True):
            if before.kernel in SPARSE_KERNELS and after.kernel not in SPARSE_KERNELS:
                dense, sparse = predicted(before, core)
                assert dense < sparse


def test_dsp_cores_take_the_paired_fully_connected(vww) -> None:  # noqa: ANN001
    """The paired fully connected kernel (the same bytes, fewer instructions) on the DSP-extension cores, for
    every goal; the other cores and the host keep the layout the reference reads."""
    fc = next(s.node for s in vww.steps if s.kernel == "fully_connected_s8")
    for board_id, paired in (("nucleo-l4r5zi", True), ("nucleo-h743zi", True), ("corstone-300", False),
                             ("rpi-pico", False), ("esp32-c3", False)):
        for goal in ("speed", "balanced", "size"):
            step = next(s for s in for_core(vww, load_board(board_id), goal).steps if s.node == fc)
            assert bool(step.params.get("paired")) is paired, (board_id, goal)


def test_depthwise_compact_form_by_goal(vww) -> None:  # noqa: ANN001
    """VWW's depthwise layers (nine shapes, strides 1 and 2, all with the full int8 range): every one has a compact
    form; balanced and size take it on the DSP cores, speed does not, nor any other core; a model with a single
    depthwise shape (its layers already share one function) never does."""
    depthwise = [s for s in vww.steps if s.kernel == "depthwise_conv2d_s8"]
    assert len(depthwise) == 13 and all(compact_table(s) for s in depthwise)
    for board_id, goal, compact in (("nucleo-l4r5zi", "balanced", True), ("nucleo-h743zi", "size", True),
                                    ("nucleo-l4r5zi", "speed", False), ("corstone-300", "balanced", False),
                                    ("esp32-c3", "size", False)):
        steps = [s for s in for_core(vww, load_board(board_id), goal).steps if s.kernel == "depthwise_conv2d_s8"]
        assert {bool(s.params.get("compact")) for s in steps} == {compact}, (board_id, goal)
    for goal in ("speed", "balanced", "size"):
        assert not takes_compact(depthwise[-3:-1], goal, "depthwise_conv2d_s8")  # two layers of one shape
    pointwise = [s for s in for_core(vww, load_board("nucleo-l4r5zi"), "balanced").steps if s.kernel == "conv2d_s8"]
    assert [s.node for s in pointwise if s.params.get("compact")] == \
        ["conv_2d_4", "conv_2d_6", "conv_2d_8", "conv_2d_10", "conv_2d_12", "conv_2d_14"]


def test_dense_choice_gives_the_same_bytes(vww) -> None:  # noqa: ANN001
    """The plan the M55 gets for speed computes the lowering's plan's bytes on the reference runtime, and its
    generated C on the host gives them too (20 random inputs)."""
    chosen = for_core(vww, load_board("corstone-300"), "speed")
    assert sparse_nodes(chosen) < sparse_nodes(vww)
    x = np.random.default_rng(5).integers(-128, 128, (20, 1, 96, 96, 3), dtype=np.int8)
    want = run_plan(vww, [x])[vww.graph.outputs[0]]
    assert np.array_equal(run_plan(chosen, [x])[vww.graph.outputs[0]], want)
    if shutil.which("cc"):
        assert np.array_equal(run_model(chosen, [x], "host")[0][0], want)


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="qemu-system-arm / arm-none-eabi-gcc not installed")
def test_m55_speed_library_equals_reference_on_the_emulator(vww) -> None:  # noqa: ANN001
    x = np.random.default_rng(6).integers(-128, 128, (3, 1, 96, 96, 3), dtype=np.int8)
    want = run_plan(vww, [x])[vww.graph.outputs[0]]
    out, report = run_model(vww, [x], "corstone-300", "speed")
    assert np.array_equal(out[0], want)
    size_out, size_report = run_model(vww, [x[:1]], "corstone-300", "size")
    assert np.array_equal(size_out[0], want[:1])
    assert report["instructions_per_inference"][0] < size_report["instructions_per_inference"][0]
    assert report["flash"]["weights"] > size_report["flash"]["weights"]


def test_dense_that_would_not_fit_stays_sparse(vww, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Where the dense kernels would overflow the board's flash, compile keeps the sparse ones."""
    import tinyc.targets.fit as fit

    sparse_flash = sum(a.nbytes for s in vww.steps for a in s.consts.values())
    real = fit.fit_problems
    monkeypatch.setattr(fit, "fit_problems", lambda board, flash, ram: ["too big"] if flash > sparse_flash
                        else real(board, flash, ram))
    compile_library(vww, tmp_path / "lib", "corstone-300", "m", goal="speed")
    source = (tmp_path / "lib" / "m.c").read_text()
    assert source.count("conv2d_sparse_s8") >= 7
