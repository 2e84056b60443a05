"""Random byte mutations of the real models: the frontends either read a valid graph or raise a
TinycError with a message, never another exception, a hang or a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MODELS
from tinyc.errors import TinycError
from tinyc.frontends import load_model

SEEDS = {
    "kws.tflite": "mlperf_tiny/kws/kws_ref_model.tflite",
    "ad.tflite": "mlperf_tiny/ad/ad01_int8.tflite",
    "mnist.onnx": "onnx/mnist-8/mnist-8.onnx",
    "sine.onnx": "onnx/tfl_helloworld_sine.onnx",
}

mutation = st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=12)


def mutate(data: bytes, edits: list[tuple[float, int]], cut: float) -> bytes:
    buf = bytearray(data)
    for where, value in edits:
        buf[int(where * len(buf))] = value
    return bytes(buf[: max(8, int(cut * len(buf)))])


@pytest.mark.parametrize("seed", sorted(SEEDS))
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=mutation, cut=st.one_of(st.just(1.0), st.floats(0.0, 1.0)))
def test_mutated_model_is_read_or_rejected_cleanly(seed: str, edits, cut: float, tmp_path_factory) -> None:
    src = MODELS / SEEDS[seed]
    if not src.is_file():
        pytest.skip("../shared/models not found: the third-party reference models are not in this checkout")
    path: Path = tmp_path_factory.mktemp("fuzz") / seed
    path.write_bytes(mutate(src.read_bytes(), edits, cut))
    try:
        graph = load_model(path)
    except TinycError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return
    graph.verify()
