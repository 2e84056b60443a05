"""Shared fixtures. Tests that need the third-party reference models skip when ../shared/models is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO.parent / "shared" / "models"

MLPERF_INT8 = {
    "kws": "mlperf_tiny/kws/kws_ref_model.tflite",
    "ic": "mlperf_tiny/ic/pretrainedResnet_quant.tflite",
    "ad": "mlperf_tiny/ad/ad01_int8.tflite",
}


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not MODELS.is_dir():
        pytest.skip("../shared/models not found: the third-party reference models are not in this checkout")
    return MODELS
