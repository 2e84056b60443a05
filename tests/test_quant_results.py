"""tinyc's PTQ is at least as accurate as the official MLPerf Tiny int8 models
(benchmarks/quant/ptq_results.md, with fewer inputs so that this runs in well under a minute)."""

from __future__ import annotations

import pytest

from benchmarks.quant.experiments import (
    FLOAT,
    INT8,
    Setting,
    ad_results,
    ad_windows,
    classifier_results,
    float_outputs,
    int8_outputs,
    reconstruction_mse,
)
from tinyc.frontends import load_model


def test_ad_reference_figures(models_dir) -> None:
    """The manifest's figures over all 196 windows: float 9.707, official int8 10.265."""
    models = models_dir / "mlperf_tiny"
    x = ad_windows(models)
    assert x.shape == (196, 1, 640)
    float_mse = reconstruction_mse(float_outputs(load_model(models / FLOAT["ad"]), x), x)
    int8_mse = reconstruction_mse(int8_outputs(load_model(models / INT8["ad"]), x), x)
    assert float_mse == pytest.approx(9.707, abs=1e-3) and int8_mse == pytest.approx(10.265, abs=1e-3)


def test_ad_ptq_no_worse_than_official(models_dir) -> None:
    res = ad_results([Setting(), Setting("minmax", False)], models_dir / "mlperf_tiny")
    print(res)
    assert res["tinyc mse + bias corr."] <= res["official int8"]
    assert res["tinyc minmax"] <= res["official int8"]
    assert res["tinyc mse + bias corr."] - res["float"] < 0.1


@pytest.mark.parametrize("key,n_calib,n_eval", [("kws", 100, 400), ("ic", 64, 300)])
def test_classifier_ptq_agrees_with_float_at_least_as_often_as_official(key: str, n_calib: int, n_eval: int,
                                                                        models_dir) -> None:
    res = classifier_results(key, [Setting()], n_calib, n_eval, models_dir / "mlperf_tiny")
    print(key, res)
    ours, official = res["tinyc mse + bias corr."]["float"], res["official int8"]["float"]
    assert ours >= official
    assert ours >= 0.9 * n_eval
