"""QUANTIZE and DEQUANTIZE at a model's boundary, byte-equal to TFLM for every dtype pair TFLM runs; one model
with five inputs and seventeen outputs of every dtype through the reference runtime, the host C, two emulated
boards and `tinyc run -o OUT.npz`; uint8 and int16 tensors refused where tinyc has no kernel for them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import assert_one_line_error, invoke, tflm_run
from tinyc.export.tflite import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.pipeline import run_model

tflm_runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N_RANDOM = 400  # inferences of 64 values per op
SHAPE = (1, 64)
RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-(2**31), 2**31 - 1)}
# (op, input dtype, output dtype, input (scale, zero point), output (scale, zero point))
CASES = [
    ("quantize", "float32", "int8", None, (0.05, 3)),
    ("quantize", "float32", "int16", None, (0.0011, 0)),
    ("quantize", "int8", "int8", (0.05, 3), (0.07, -10)),
    ("quantize", "int8", "int8", (0.02, -5), (0.013, 7)),  # a multiplier above one
    ("quantize", "int8", "uint8", (0.05, 3), (0.05, 131)),
    ("quantize", "uint8", "int8", (0.05, 131), (0.05, 3)),
    ("quantize", "uint8", "int8", (0.04, 128), (0.03, 0)),
    ("quantize", "int16", "int8", (0.001, 0), (0.03, 5)),
    ("quantize", "int8", "int16", (0.03, 5), (0.0005, 0)),
    ("quantize", "int16", "int16", (0.001, 0), (0.0007, 0)),
    ("quantize", "int16", "int32", (0.001, 0), (0.00001, 0)),
    ("quantize", "int8", "int32", (0.03, 4), (0.0001, 0)),
    ("quantize", "int32", "int8", (0.0001, 0), (0.03, 4)),
    ("quantize", "int32", "int16", (0.0001, 0), (0.003, 0)),
    ("dequantize", "int8", "float32", (0.05, 3), None),
    ("dequantize", "int16", "float32", (0.0003, 0), None),
    ("dequantize", "uint8", "float32", (0.05, 128), None),
]


def case_id(case: tuple) -> str:
    op, a, b, _, _ = case
    return f"{op}-{a}-{b}-{CASES.index(case)}"


def quant(q: tuple[float, int] | None) -> Quant | None:
    return Quant([q[0]], [q[1]]) if q else None


def single_op(case: tuple) -> Graph:
    op, a, b, qa, qb = case
    g = Graph(f"{op}_{a}_{b}")
    g.add_tensor(Tensor("x", SHAPE, a, quant(qa)))
    g.add_tensor(Tensor("y", SHAPE, b, quant(qb)))
    g.nodes.append(Node(op, f"{op}_0", ["x"], ["y"], {}))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def random_inputs(dtype: str, n: int, q: tuple[float, int] | None, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "float32":
        scale = q[0] if q else 0.05
        spread = rng.choice([0.5, 10.0, 150.0, 40000.0], size=(n, 1, 1)) * scale
        x = rng.standard_normal((n, *SHAPE)) * spread
        x[: n // 4] = (np.round(x[: n // 4] / scale - 0.5) + 0.5) * scale  # halfway cases of the rounding
        return x.astype(np.float32)
    lo, hi = RANGES[dtype]
    if dtype == "int32":
        lo, hi = -(2**20), 2**20
    x = rng.integers(lo, hi + 1, size=(n, *SHAPE))
    x[0], x[1] = lo, hi
    return x.astype(dtype)


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_single_op_equals_tflm(case, tmp_path) -> None:
    path = tmp_path / "op.tflite"
    write_tflite(single_op(case), path)
    plan = lower(load_model(path))
    x = random_inputs(case[1], N_RANDOM, case[4] or case[3], seed=len(case_id(case)))
    ours = run_model(plan, [x], "ref")[0][0]
    theirs = tflm_run(path, [x], 1)[0]
    assert ours.dtype == theirs.dtype == np.dtype(case[2])
    differing = np.flatnonzero(np.any(ours.reshape(N_RANDOM, -1) != theirs.reshape(N_RANDOM, -1), axis=1))
    print(f"{case_id(case)}: {N_RANDOM} inputs x {SHAPE[1]} values, {len(differing)} differ from TFLM")
    assert differing.size == 0, f"inputs {differing[:5].tolist()} differ from TFLM"
    if case[1] == "float32":
        assert len(np.unique(ours)) > 50  # the inputs reach far into the output range


INPUT_DTYPES = ("float32", "int8", "int16", "uint8", "int32")
INPUT_QUANT = {"float32": None, "int8": (0.05, 3), "int16": (0.001, 0), "uint8": (0.05, 131), "int32": (0.0001, 0)}


def boundary_graph() -> Graph:
    """Five inputs, one per dtype; one output per case reading the input of its dtype (with that input's
    quantization), in CASES order."""
    g = Graph("boundary")
    for dtype in INPUT_DTYPES:
        g.add_tensor(Tensor(f"in_{dtype}", SHAPE, dtype, quant(INPUT_QUANT[dtype])))
    g.inputs = [f"in_{d}" for d in INPUT_DTYPES]
    for k, (op, a, b, _, qb) in enumerate(CASES):
        g.add_tensor(Tensor(f"out{k}/{op}:{b}", SHAPE, b, quant(qb)))
        g.nodes.append(Node(op, f"{op}_{k}", [f"in_{a}"], [f"out{k}/{op}:{b}"], {}))
        g.outputs.append(f"out{k}/{op}:{b}")
    return g


@pytest.fixture(scope="module")
def boundary_model(tmp_path_factory):  # noqa: ANN201
    path = tmp_path_factory.mktemp("boundary") / "boundary.tflite"
    write_tflite(boundary_graph(), path)
    return path


def boundary_inputs(n: int, seed: int) -> list[np.ndarray]:
    return [random_inputs(d, n, INPUT_QUANT[d] or (0.05, 0), seed + k) for k, d in enumerate(INPUT_DTYPES)]


def test_multi_output_model_equals_tflm_on_ref_and_host(boundary_model) -> None:
    plan = plan_memory(lower(load_model(boundary_model)))
    assert len(plan.graph.inputs) == 5 and len(plan.graph.outputs) == len(CASES)
    x = boundary_inputs(200, seed=11)
    theirs = tflm_run(boundary_model, x, len(CASES))
    ref, _ = run_model(plan, x, "ref")
    host, report = run_model(plan, x, "host")
    assert report["inputs"] == 200
    for k, case in enumerate(CASES):
        assert ref[k].dtype == host[k].dtype == theirs[k].dtype == np.dtype(case[2]), case_id(case)
        assert ref[k].shape == host[k].shape == (200, *SHAPE)
        assert ref[k].tobytes() == theirs[k].tobytes(), f"output {k} ({case_id(case)}): ref differs from TFLM"
        assert host[k].tobytes() == ref[k].tobytes(), f"output {k} ({case_id(case)}): host C differs"


def test_float_specials_in_c_equal_reference(boundary_model) -> None:
    """NaN, infinities and quotients beyond int32 (undefined in TFLM's cast): the C saturates as the reference
    runtime says, on the host under ASan and UBSan."""
    from tinyc.pipeline import compile_library, model_name
    from tinyc.targets import run_host
    from tinyc.targets.library import pack_records, split_records

    plan = plan_memory(lower(load_model(boundary_model)))
    x = boundary_inputs(4, seed=5)
    specials = np.array([np.nan, np.inf, -np.inf, 3e38, -3e38, 1e10, -1e10, 0.0, -0.0, 1e-40], np.float32)
    x[0][:, 0, : specials.size] = specials
    ref, _ = run_model(plan, x, "ref")
    lib = boundary_model.parent / "lib"
    compile_library(plan, lib, "host", model_name(plan))
    kinds = [(plan.graph.tensor(n).np_dtype, plan.graph.tensor(n).shape) for n in plan.graph.outputs]
    host = split_records(run_host(lib, model_name(plan), pack_records(x), sanitize=True), kinds)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(ref, host, strict=True))
    q8 = ref[0][0, 0, : specials.size]  # float32 -> int8, zero point 3
    assert q8.tolist() == [3, 127, -128, 127, -128, 127, -128, 3, 3, 3]


@pytest.mark.parametrize("board", ["nucleo-l4r5zi", "esp32-c3"])
def test_multi_output_model_on_emulated_boards(boundary_model, board) -> None:
    from tinyc.targets import find_tool

    try:
        find_tool("qemu-system-arm" if board.startswith("nucleo") else "qemu-system-riscv32")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no emulator for {board}: {exc}")
    plan = plan_memory(lower(load_model(boundary_model)))
    x = boundary_inputs(5, seed=23)
    ref, _ = run_model(plan, x, "ref")
    ours, report = run_model(plan, x, board)
    assert len(report["instructions_per_inference"]) == 5
    for k, case in enumerate(CASES):
        assert ours[k].dtype == ref[k].dtype and ours[k].tobytes() == ref[k].tobytes(), f"{board}: {case_id(case)}"


def test_cli_npz_inputs_and_outputs(boundary_model, tmp_path) -> None:
    x = boundary_inputs(3, seed=31)
    np.savez(tmp_path / "in.npz", **{f"input{k}": a for k, a in enumerate(x)})
    code, err, _ = invoke("run", boundary_model, "-i", tmp_path / "in.npz", "-o", tmp_path / "out.npz")
    assert code == 0, err
    expected, _ = run_model(lower(load_model(boundary_model)), x, "ref")
    with np.load(tmp_path / "out.npz", allow_pickle=False) as out:
        assert out["output_names"].tolist() == boundary_graph().outputs
        assert sorted(out.files) == sorted([f"output{k}" for k in range(len(CASES))] + ["output_names"])
        for k, e in enumerate(expected):
            assert out[f"output{k}"].dtype == e.dtype and out[f"output{k}"].tobytes() == e.tobytes()
    # one inference without the N axis comes back without it
    np.savez(tmp_path / "one.npz", **{f"input{k}": a[0] for k, a in enumerate(x)})
    assert invoke("run", boundary_model, "-i", tmp_path / "one.npz", "-o", tmp_path / "one_out.npz")[0] == 0
    with np.load(tmp_path / "one_out.npz") as out:
        assert out["output3"].shape == SHAPE and out["output3"].tobytes() == expected[3][0].tobytes()
    code, err, _ = invoke("run", boundary_model, "-i", tmp_path / "in.npz", "-o", tmp_path / "out.npy")
    assert_one_line_error(code, err, f"{len(CASES)} outputs", "OUT.npz")
    assert not (tmp_path / "out.npy").exists()
    np.save(tmp_path / "in.npy", x[0])
    code, err, _ = invoke("run", boundary_model, "-i", tmp_path / "in.npy", "-o", tmp_path / "o.npz")
    assert_one_line_error(code, err, "5 inputs", "input0")
    np.savez(tmp_path / "bad.npz", input0=x[0], input1=x[1])
    code, err, _ = invoke("run", boundary_model, "-i", tmp_path / "bad.npz", "-o", tmp_path / "o.npz")
    assert_one_line_error(code, err, "missing input2")
    np.savez(tmp_path / "bad.npz", **{f"input{k}": a.astype(np.float32) for k, a in enumerate(x)})
    code, err, _ = invoke("run", boundary_model, "-i", tmp_path / "bad.npz", "-o", tmp_path / "o.npz")
    assert_one_line_error(code, err, "input 1", "dtype float32", "int8")


def _write_unverified(graph: Graph, path, monkeypatch) -> None:  # noqa: ANN001
    """tinyc's exporter, without the verifier (which would refuse the very dtypes these models test)."""
    with monkeypatch.context() as m:
        m.setattr(Graph, "verify", lambda self: None)
        write_tflite(graph, path)


def fully_connected_graph(act: str, weights: str, zp: int) -> Graph:
    rng = np.random.default_rng(0)
    lo, hi = RANGES[weights]
    g = Graph("fc")
    g.add_tensor(Tensor("input", (1, 8), act, Quant([0.02], [zp])))
    g.add_tensor(Tensor("weights", (4, 8), weights, Quant([0.01], [zp if weights == "uint8" else 0]),
                        data=rng.integers(lo, hi + 1, size=(4, 8))))
    g.add_tensor(Tensor("bias", (4,), "int32", Quant([0.0002], [0]), data=rng.integers(-100, 100, size=4)))
    g.add_tensor(Tensor("logits", (1, 4), act, Quant([0.05], [zp])))
    g.nodes.append(Node("fully_connected", "fully_connected_0", ["input", "weights", "bias"], ["logits"],
                        {"activation": "none"}))
    g.inputs, g.outputs = ["input"], ["logits"]
    return g


@pytest.mark.parametrize(("act", "weights", "zp", "tensor"), [
    ("uint8", "uint8", 128, "input"),  # Coral-style legacy asymmetric uint8
    ("int32", "int8", 0, "input"),  # int32 activations: no fully-connected kernel (int16 has TFLM's 16x8 one)
    ("int8", "uint8", 0, "weights"),
])
def test_dtypes_without_a_kernel_are_refused(act, weights, zp, tensor, tmp_path, monkeypatch) -> None:
    path = tmp_path / f"fc_{act}_{weights}.tflite"
    _write_unverified(fully_connected_graph(act, weights, zp), path, monkeypatch)
    np.save(tmp_path / "x.npy", np.zeros((1, 8), act))
    for args in (("inspect", path), ("run", path, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy")):
        code, err, _ = invoke(*args)
        assert_one_line_error(code, err, "unsupported dtype", f"'{tensor}'", "fully_connected", str(path))
        if "uint8" in (act, weights):
            assert "legacy uint8" in err
    assert not (tmp_path / "y.npy").exists()


def test_dtype_pairs_tflm_lacks_are_refused(tmp_path, monkeypatch) -> None:
    """float32 -> uint8 and uint8 -> uint8 (TFLM's QUANTIZE fails on them at invoke)."""
    for a, b, qa in (("float32", "uint8", None), ("uint8", "uint8", (0.05, 128))):
        path = tmp_path / f"q_{a}_{b}.tflite"
        _write_unverified(single_op(("quantize", a, b, qa, (0.05, 128))), path, monkeypatch)
        code, err, _ = invoke("inspect", path)
        assert_one_line_error(code, err, f"unsupported dtype {a} -> {b}", "'x'", "quantize", str(path))
