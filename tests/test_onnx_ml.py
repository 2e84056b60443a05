"""Classic ML in ONNX-ML: scikit-learn models trained on BasicMotions IMU features (benchmarks/ml_models.py),
exported by skl2onnx, compiled by tinyc and compared with onnxruntime: labels equal on all 2,080 inputs (the 80
recordings and 2,000 feature vectors inside the training ranges), scores within float32 rounding (tree sums
without a post-transform bit for bit), the host C and the emulated Cortex-M4F equal to the reference byte for
byte on the 80 recordings; opset-3 tensor attributes; refusals naming attribute, node and file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

pytest.importorskip("skl2onnx")
pytest.importorskip("sklearn")

from benchmarks.ml_models import (  # noqa: E402
    BOARD,
    data,
    inputs_for,
    onnxruntime_outputs,
    train_and_export,
    ulps,
)
from tests.helpers import assert_one_line_error, invoke  # noqa: E402
from tinyc.frontends.onnx import load_onnx  # noqa: E402
from tinyc.lower import lower  # noqa: E402
from tinyc.memory import plan_memory  # noqa: E402
from tinyc.pipeline import compile_library, model_name, run_model  # noqa: E402
from tinyc.targets import run_host  # noqa: E402
from tinyc.targets.library import pack_records, split_records  # noqa: E402

MODELS = ["logistic_regression", "linear_svc", "svc_linear", "svc_rbf", "svc_poly", "svc_sigmoid", "random_forest",
          "gradient_boosting", "logistic_regression_binary", "linear_svc_binary", "svc_rbf_binary",
          "random_forest_binary", "gradient_boosting_binary", "linear_regression", "svr_rbf",
          "gradient_boosting_regressor"]
# leaf sums in onnxruntime's order, no exp, no GEMM
EXACT = {"random_forest", "random_forest_binary", "gradient_boosting_regressor"}
RTOL = 1e-5  # relative, and of the largest |score|, as tests/test_onnx.py


@pytest.fixture(scope="module")
def sensor() -> dict[str, np.ndarray]:
    try:
        return data()
    except FileNotFoundError as exc:
        pytest.skip(f"BasicMotions not available: {exc}")


@pytest.fixture(scope="module")
def exported(sensor, tmp_path_factory) -> dict:  # noqa: ANN001
    return train_and_export(sensor, tmp_path_factory.mktemp("onnx_ml"))


@pytest.fixture(scope="module")
def compared(sensor, exported) -> dict:  # noqa: ANN001
    """name -> (plan, inputs, onnxruntime outputs, reference outputs)."""
    out = {}
    for name, (path, classifier, _) in exported.items():
        plan = plan_memory(lower(load_onnx(path)))
        x = inputs_for(sensor, classifier)
        want = onnxruntime_outputs(path, x)
        ref, _ = run_model(plan, [x.reshape(len(x), 1, -1)], "ref")
        out[name] = (plan, x, want, [r.reshape(w.shape) for r, w in zip(ref, want, strict=True)])
    return out


def test_models_cover_the_ops(compared) -> None:
    ops = {n.op for plan, *_ in compared.values() for n in plan.graph.nodes}
    assert ops == {"ml_linear", "ml_svm", "ml_tree_ensemble", "ml_scaler", "ml_normalizer", "gather"}
    kernels = {n.attrs["kernel"] for plan, *_ in compared.values() for n in plan.graph.nodes if n.op == "ml_svm"}
    assert kernels == {"LINEAR", "RBF", "POLY", "SIGMOID"}


@pytest.mark.parametrize("name", MODELS)
def test_reference_equals_onnxruntime(compared, exported, name: str) -> None:
    plan, x, want, ref = compared[name]
    assert len(x) == 2080
    if exported[name][1]:
        assert ref[0].dtype == np.int64 and np.array_equal(ref[0], want[0])
        assert len(np.unique(want[0])) == (2 if name.endswith("_binary") else 4)  # every class predicted somewhere
    np.testing.assert_allclose(ref[-1], want[-1], rtol=RTOL, atol=RTOL * float(np.abs(want[-1]).max()))
    if name in EXACT:
        assert ulps(ref[-1], want[-1]) == 0


@pytest.mark.parametrize("name", MODELS)
def test_host_and_m4f_equal_reference(compared, tmp_path: Path, name: str) -> None:
    """Host under ASan/UBSan with -Werror, and the emulated Cortex-M4F (float in hardware, double in software)."""
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm not installed")
    plan, x, _, ref = compared[name]
    few = [x[:80].reshape(80, 1, -1)]
    kinds = [(plan.graph.tensor(n).np_dtype, plan.graph.tensor(n).shape) for n in plan.graph.outputs]
    lib = tmp_path / "lib"
    compile_library(plan, lib, "host", model_name(plan))
    host = split_records(run_host(lib, model_name(plan), pack_records(few), sanitize=True, cflags=("-Werror",)),
                         kinds)
    board, _ = run_model(plan, few, BOARD)
    for target, got in (("host", host), (BOARD, board)):
        for g, r in zip(got, ref, strict=True):
            assert g.reshape(r[:80].shape).tobytes() == r[:80].tobytes(), target


def _as_tensors(model: onnx.ModelProto, dtype: int) -> None:
    """nodes_values and class_weights as opset-3 `_as_tensor` attributes of `dtype`."""
    node = next(n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier")
    for key in ("nodes_values", "class_weights"):
        attr = next(a for a in node.attribute if a.name == key)
        value = np.asarray(attr.floats, helper.tensor_dtype_to_np_dtype(dtype))
        node.attribute.remove(attr)
        node.attribute.append(helper.make_attribute(f"{key}_as_tensor", numpy_helper.from_array(value)))
    for imp in model.opset_import:
        if imp.domain == "ai.onnx.ml":
            imp.version = 3


def test_opset3_tensor_attributes(exported, compared, tmp_path: Path) -> None:
    """A random forest with float32 `_as_tensor` thresholds and weights gives onnxruntime's outputs; double ones
    (compared in double by onnxruntime) are refused by name."""
    model = onnx.load(str(exported["random_forest"][0]))
    _as_tensors(model, TensorProto.FLOAT)
    path = tmp_path / "rf3.onnx"
    onnx.save(model, str(path))
    _, x, want, _ = compared["random_forest"]
    plan = plan_memory(lower(load_onnx(path)))
    got, _ = run_model(plan, [x.reshape(len(x), 1, -1)], "ref")
    theirs = onnxruntime_outputs(path, x)
    assert np.array_equal(got[0].reshape(-1), theirs[0]) and np.array_equal(theirs[0], want[0])
    assert got[1].reshape(theirs[1].shape).tobytes() == theirs[1].tobytes()
    model = onnx.load(str(exported["random_forest"][0]))
    _as_tensors(model, TensorProto.DOUBLE)
    onnx.save(model, str(path))
    code, err, _ = invoke("compile", path, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "nodes_values_as_tensor of double", "TreeEnsembleClassifier", "rf3.onnx")
    assert not (tmp_path / "out").exists()


def _edited(src: Path, dst: Path, op: str, **attrs: object) -> Path:
    model = onnx.load(str(src))
    node = next(n for n in model.graph.node if n.op_type == op)
    for key, value in attrs.items():
        for a in [a for a in node.attribute if a.name == key]:
            node.attribute.remove(a)
        node.attribute.append(helper.make_attribute(key, value))
    onnx.save(model, str(dst))
    return dst


REFUSED = [
    ("svc_rbf", "SVMClassifier", {"kernel_type": "LAPLACE"}, "kernel_type LAPLACE"),
    ("logistic_regression", "LinearClassifier", {"post_transform": "PROBIT"}, "post_transform PROBIT"),
    ("gradient_boosting", "TreeEnsembleClassifier", {"post_transform": "SOFTMAX_ZERO"}, "post_transform SOFTMAX_ZERO"),
    ("random_forest", "TreeEnsembleClassifier", {"classlabels_int64s": [0]}, "binary classifiers"),
    ("svc_poly", "SVMClassifier", {"prob_a": [1.0], "prob_b": [0.5]}, "prob_a (probability estimates)"),
    ("gradient_boosting_regressor", "TreeEnsembleRegressor", {"aggregate_function": "MAX"}, "aggregate_function MAX"),
]


@pytest.mark.parametrize("name,op,attrs,needle", REFUSED, ids=[r[3].split()[0] for r in REFUSED])
def test_unsupported_attribute_names_itself_node_and_file(exported, tmp_path: Path, name: str, op: str,
                                                          attrs: dict, needle: str) -> None:
    path = _edited(exported[name][0], tmp_path / f"{name}_bad.onnx", op, **attrs)
    code, err, _ = invoke("compile", path, "-o", tmp_path / "out")
    assert_one_line_error(code, err, needle, f"{name}_bad.onnx", "node '")
    assert not (tmp_path / "out").exists()


def test_cyclic_tree_is_refused(exported, tmp_path: Path) -> None:
    """A hostile tree whose child points back at its root would loop forever in the C: refused."""
    model = onnx.load(str(exported["random_forest"][0]))
    node = next(n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier")
    false_ids = next(a for a in node.attribute if a.name == "nodes_falsenodeids")
    false_ids.ints[0] = 0
    path = tmp_path / "cycle.onnx"
    onnx.save(model, str(path))
    code, err, _ = invoke("compile", path, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "cycle.onnx", "tree 0")


FUZZED = ["random_forest", "random_forest_binary", "gradient_boosting_binary", "svc_rbf", "logistic_regression",
          "linear_svc_binary", "svr_rbf", "gradient_boosting_regressor"]


def _mutant(model: onnx.ModelProto, rng: np.random.Generator) -> bool:
    """One attribute value of one ai.onnx.ml node (ZipMap's keys aside) replaced by an edge case."""
    nodes = [n for n in model.graph.node if n.domain == "ai.onnx.ml" and n.op_type != "ZipMap" and n.attribute]
    node = nodes[int(rng.integers(len(nodes)))]
    a = node.attribute[int(rng.integers(len(node.attribute)))]
    if a.ints:
        i = int(rng.integers(len(a.ints)))
        a.ints[i] = int(rng.choice([-1, 0, 1, 2, a.ints[i] + 1, 10**6]))
    elif a.floats:
        a.floats[int(rng.integers(len(a.floats)))] = float(rng.choice([np.nan, np.inf, -1.0, 0.0, 1e30]))
    elif a.strings:
        a.strings[int(rng.integers(len(a.strings)))] = rng.choice([b"LEAF", b"BRANCH_LT", b"BRANCH_EQ", b"X"])
    elif a.s:
        a.s = rng.choice([b"NONE", b"LOGISTIC", b"SOFTMAX", b"RBF", b"POLY", b"L2"])
    else:
        return False
    return True


def test_mutated_models_are_refused_or_equal_onnxruntime(exported, sensor, tmp_path: Path) -> None:
    """Never accept and differ: 120 models with one attribute value mutated (indices out of range, NaN / inf
    weights and thresholds, other modes, kernels and post-transforms): each is refused with a TinycError or gives
    onnxruntime's labels and scores on the 80 recordings; a model onnxruntime cannot run is refused."""
    from tinyc.errors import TinycError

    rng = np.random.default_rng(3)
    outcomes = {"refused": 0, "equal": 0}
    for i in range(120):
        name = FUZZED[i % len(FUZZED)]
        model = onnx.load(str(exported[name][0]))
        if not _mutant(model, rng):
            continue
        path = tmp_path / f"mutant{i}.onnx"
        onnx.save(model, str(path))
        x = inputs_for(sensor, exported[name][1], probe=False)
        try:
            got, _ = run_model(lower(load_onnx(path)), [x.reshape(len(x), 1, -1)], "ref")
        except TinycError:
            outcomes["refused"] += 1
            continue
        want = onnxruntime_outputs(path, x)  # raises (fails the test) if onnxruntime refuses what tinyc ran
        for g, w in zip(got, want, strict=True):
            g = g.reshape(w.shape)
            if w.dtype.kind == "f":
                scale = float(np.nanmax(np.abs(np.where(np.isinf(w), 0, w)), initial=1.0))
                np.testing.assert_allclose(g, w, rtol=RTOL, atol=RTOL * scale, equal_nan=True, err_msg=f"mutant {i}")
            else:
                assert np.array_equal(g, w), f"mutant {i}"
        outcomes["equal"] += 1
    assert outcomes["refused"] >= 20 and outcomes["equal"] >= 60, outcomes


@pytest.mark.parametrize("norm", ["MAX", "L1", "L2"])
def test_scaler_and_normalizer(sensor, tmp_path: Path, norm: str) -> None:
    """Scaler then Normalizer (each norm), on the 80 recordings' features and 2,000 more: onnxruntime's bytes
    (same order, no GEMM); the host C equals the reference byte for byte."""
    k = sensor["train"].shape[1]
    rng = np.random.default_rng(4)
    nodes = [helper.make_node("Scaler", ["X"], ["s"], domain="ai.onnx.ml", name="scale",
                              offset=rng.normal(0, 1, k).tolist(), scale=rng.uniform(0.1, 2, k).tolist()),
             helper.make_node("Normalizer", ["s"], ["Y"], domain="ai.onnx.ml", name="normalize", norm=norm)]
    graph = helper.make_graph(nodes, "scaler_normalizer",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, k])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, k])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 1)],
                              ir_version=8)
    path = tmp_path / f"normalizer_{norm}.onnx"
    onnx.save(model, str(path))
    x = inputs_for(sensor, True)
    plan = plan_memory(lower(load_onnx(path)))
    assert [n.op for n in plan.graph.nodes] == ["ml_scaler", "ml_normalizer"]
    ref, _ = run_model(plan, [x.reshape(len(x), 1, -1)], "ref")
    want = onnxruntime_outputs(path, x)[0]
    assert ref[0].reshape(want.shape).tobytes() == want.tobytes()
    host, _ = run_model(plan, [x[:80].reshape(80, 1, -1)], "host")
    assert host[0].tobytes() == ref[0][:80].tobytes()
