"""top_k (tinyc/ops/top_k.py) where its order matters: two 3 x 16 x 5 inputs, one from {-1, 0, 1, 2} (every column
full of ties), one its copy with NaNs (a column mostly NaN) and infinities; TopK k=7 along axis 1, largest and
smallest. ONNX's reference evaluator gives the same values and indices on the ties (lower index first); the reference
runtime and the host C give the same bytes on both, NaNs included (ranked after every number, by index). A k past
the axis or of more than one value is refused naming it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from tinyc.errors import TinycError
from tinyc.frontends.onnx import convert_model
from tinyc.frontends.onnx_backend import TinycRep

SHAPE, K = (3, 16, 5), 7


def _model() -> object:
    out = (SHAPE[0], K, SHAPE[2])
    nodes = [helper.make_node("TopK", ["X", "K"], ["LV", "LI"], axis=1, largest=1),
             helper.make_node("TopK", ["X", "K"], ["SV", "SI"], axis=-2, largest=0)]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT if n.endswith("V") else TensorProto.INT64, out)
               for n in ("LV", "LI", "SV", "SI")]
    graph = helper.make_graph(nodes, "top_k_ties", [helper.make_tensor_value_info("X", TensorProto.FLOAT, SHAPE)],
                              outputs, [numpy_helper.from_array(np.array([K], np.int64), "K")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def _inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    ties = rng.integers(-1, 3, SHAPE).astype(np.float32)
    special = ties.copy()
    special.reshape(-1)[rng.choice(special.size, 60, replace=False)] = np.nan
    special.reshape(-1)[rng.choice(special.size, 20, replace=False)] = np.inf
    special.reshape(-1)[rng.choice(special.size, 20, replace=False)] = -np.inf
    special[0, 2:14, 0] = np.nan  # a column of 12 NaNs: both top 7s reach them
    return [ties, special]


@pytest.fixture(scope="module")
def outputs() -> dict[str, list[tuple[np.ndarray, ...]]]:
    rep = {t: TinycRep(_model(), t) for t in ("ref", "host")}
    return {t: [r.run([x]) for x in _inputs()] for t, r in rep.items()}


def test_ties_as_onnx_reference(outputs: dict) -> None:
    want = ReferenceEvaluator(_model()).run(None, {"X": _inputs()[0]})
    for got, exp in zip(outputs["ref"][0], want, strict=True):
        assert got.dtype == exp.dtype and np.array_equal(got, exp)


def test_ref_and_host_same_bytes(outputs: dict) -> None:
    for r_run, h_run in zip(outputs["ref"], outputs["host"], strict=True):
        for r, h in zip(r_run, h_run, strict=True):
            assert r.dtype == h.dtype and r.tobytes() == h.tobytes()
    lv, _, sv, _ = outputs["ref"][1]
    assert np.isnan(lv).any() and np.isnan(sv).any() and np.isinf(lv).any()  # the special run reached them


@pytest.mark.parametrize(("k", "why"), [(np.array([17], np.int64), "k=17 outside 1..16"),
                                        (np.array([1, 2], np.int64), "k of shape [2]")])
def test_refused_k(k: np.ndarray, why: str) -> None:
    node = helper.make_node("TopK", ["X", "K"], ["V", "I"], axis=1)
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, SHAPE)]
    graph = helper.make_graph([node], "top_k_bad", inputs,
                              [helper.make_tensor_value_info("V", TensorProto.FLOAT, []),
                               helper.make_tensor_value_info("I", TensorProto.INT64, [])],
                              [numpy_helper.from_array(k, "K")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    with pytest.raises(TinycError, match=re.escape(why)):
        convert_model(model, "<top_k_bad>")
