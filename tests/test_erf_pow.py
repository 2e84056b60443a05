"""erf and pow (tinyc/ops/erf.py, power.py) on powf's special values and 4,096 mixed inputs: the reference runtime
and the host C give the same bits, erf is within 2.4 ulp of math.erf, pow keeps numpy.power's NaNs, infinities,
zeros and signs and is within 2e-6 relative elsewhere (normal results, |y * log x| <= 46)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from tinyc.frontends.onnx_backend import TinycRep

N = 4096
SPECIAL = np.array([0, -0.0, 1, -1, 2, -2, 0.5, -0.5, np.inf, -np.inf, np.nan, 3.9999998, 4, 1e-30, -1e-30, 88, -88,
                    1e30], np.float32)
EXPONENTS = np.array([0, 1, 2, 3, -1, -2, -3, 0.5, np.nan, np.inf, -np.inf, 2.5, -2.5, 1e10, 3, -3, 7, -0.5],
                     np.float32)


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = np.concatenate([SPECIAL, rng.standard_normal(N - 2 * SPECIAL.size) * 3, SPECIAL]).astype(np.float32)
    e = np.concatenate([rng.standard_normal(N // 2) * 3, np.round(rng.standard_normal(N // 2) * 4)]).astype(np.float32)
    e[:EXPONENTS.size], e[-EXPONENTS.size:] = EXPONENTS, EXPONENTS[::-1]
    return x, e


@pytest.fixture(scope="module")
def outputs() -> dict[str, tuple[np.ndarray, ...]]:
    x, e = _inputs()
    nodes = [helper.make_node("Erf", ["X"], ["E"]), helper.make_node("Pow", ["X", "P"], ["Y"])]
    graph = helper.make_graph(nodes, "erf_pow", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [N])],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [N]) for n in "EY"],
                              [numpy_helper.from_array(e, "P")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    return {target: TinycRep(model, target).run([x]) for target in ("ref", "host")}


def test_ref_and_host_same_bits(outputs: dict) -> None:
    for r, h in zip(outputs["ref"], outputs["host"], strict=True):
        assert np.array_equal(r.view(np.uint32), h.view(np.uint32))


def test_erf_within_ulps(outputs: dict) -> None:
    x, _ = _inputs()
    y = outputs["ref"][0]
    assert np.isnan(y[np.isnan(x)]).all()
    ok = ~np.isnan(x)
    want = np.array([math.erf(float(v)) for v in x[ok]])
    ulp = np.spacing(np.abs(want.astype(np.float32))).astype(np.float64)
    assert np.max(np.abs(y[ok] - want) / ulp) <= 2.5


def test_pow_as_powf(outputs: dict) -> None:
    x, e = _inputs()
    y = outputs["ref"][1]
    with np.errstate(all="ignore"):
        want = np.power(x, e)
    assert np.array_equal(np.isnan(y), np.isnan(want))
    num = ~np.isnan(want)
    assert np.array_equal(np.signbit(y[num]), np.signbit(want[num]))
    exact = num & (np.isinf(want) | (want == 0) | (np.abs(want) == 1))
    assert np.array_equal(y[exact], want[exact])
    normal = num & ~exact & (np.abs(want) >= np.finfo(np.float32).tiny)
    assert normal.sum() > 2500
    assert np.max(np.abs(y[normal] / want[normal].astype(np.float64) - 1)) < 2e-6
