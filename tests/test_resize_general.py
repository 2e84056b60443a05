"""resize_general (tinyc/ops/resize_general.py) beyond ONNX's backend cases: ONNX Resize attribute combinations
on odd sizes against onnx.reference over random inputs, the reference runtime and the host C byte-equal, and the
frontend's errors for attributes it refuses."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from tinyc.errors import ModelError, UnsupportedOpError
from tinyc.frontends.onnx_backend import TinycRep

SHAPE = (1, 2, 5, 7)


def _model(sizes: list[int] | None, scales: list[float] | None, **attrs: object) -> object:
    inits = [helper.make_tensor("roi", TensorProto.FLOAT, [8], [0, 0, 0.1, 0.2, 1, 1, 0.9, 1.1])]
    names = ["x", "roi", "", ""]
    if scales is not None:
        inits.append(helper.make_tensor("scales", TensorProto.FLOAT, [4], scales))
        names[2] = "scales"
    if sizes is not None:
        inits.append(helper.make_tensor("sizes", TensorProto.INT64, [4], sizes))
        names[3] = "sizes"
    node = helper.make_node("Resize", [n for n in names if n] if sizes is None else names, ["y"], **attrs)
    graph = helper.make_graph([node], "resize_general", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


CASES = {
    "cubic_exclude_a05_up": ([1, 2, 9, 12], None, {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1}),
    "cubic_antialias_down": (None, [1, 1, 0.6, 0.45], {"mode": "cubic", "antialias": 1}),
    "linear_antialias_symmetric": ([1, 2, 3, 4], None, {"mode": "linear", "antialias": 1,
                                                        "coordinate_transformation_mode": "half_pixel_symmetric"}),
    "nearest_ceil_not_smaller": ([1, 2, 3, 3], None, {"mode": "nearest", "nearest_mode": "ceil",
                                                      "keep_aspect_ratio_policy": "not_smaller"}),
    "linear_crop_extrapolate": ([1, 2, 6, 8], None, {"mode": "linear", "extrapolation_value": -3.5,
                                                     "coordinate_transformation_mode": "tf_crop_and_resize"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_onnx_reference_and_host(name: str) -> None:
    sizes, scales, attrs = CASES[name]
    model = _model(sizes, scales, **attrs)
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = (rng.standard_normal(SHAPE) * 4).astype(np.float32)
        (want,) = ReferenceEvaluator(model).run(None, {"x": x})
        (ref,) = TinycRep(model, "ref").run([x])
        np.testing.assert_allclose(ref, want, rtol=1e-5, atol=1e-5)
        (host,) = TinycRep(model, "host").run([x])
        assert host.tobytes() == ref.tobytes()


@pytest.mark.parametrize(("attrs", "error", "text"), [
    ({"mode": "nearest", "antialias": 1}, ModelError, "antialias needs mode linear or cubic"),
    ({"mode": "cubic", "nearest_mode": "round_half_even"}, UnsupportedOpError, "nearest_mode 'round_half_even'"),
    ({"mode": "linear", "keep_aspect_ratio_policy": "fit"}, ModelError, "keep_aspect_ratio_policy 'fit'"),
])
def test_refused_attributes(attrs: dict, error: type, text: str) -> None:
    x = np.zeros(SHAPE, np.float32)
    with pytest.raises(error, match=text):
        TinycRep(_model([1, 2, 4, 4], None, **attrs), "ref").run([x])
