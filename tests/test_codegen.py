"""The generated C library computes the same bytes as the reference runtime, builds cleanly everywhere,
uses no heap, and is written all at once or not at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import MLPERF_INT8
from tinyc.codegen import generate, runner_source
from tinyc.codegen.kernels import emitted_consts, scalar_requant
from tinyc.errors import TinycError
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import Plan, lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

WARN = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off"]
HOST = {"gcc": WARN + ["-O2"], "clang": WARN + ["-O2"]}
SANITIZE = WARN + ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
CROSS = {
    "arm-none-eabi-gcc": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "riscv64-unknown-elf-gcc": ["-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"],
}
N_RANDOM = 1000
HEAP = {"malloc", "free", "calloc", "realloc", "aligned_alloc", "posix_memalign"}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed")
    return path


# ---------------------------------------------------------------- building and running the C


@dataclass
class Generated:
    plan: Plan
    name: str
    lib: Path  # the generated folder
    report: dict
    runner: Path  # runner_main.c next to it


def generate_into(plan: Plan, root: Path, name: str) -> Generated:
    lib = root / name
    report = generate(plan, lib, name)
    runner = root / f"{name}_runner.c"
    runner.write_text(runner_source(plan, name))
    return Generated(plan, name, lib, report, runner)


def build(gen: Generated, cc: str, flags: list[str], tag: str) -> Path:
    exe = gen.lib.parent / f"{gen.name}_{tag}"
    cmd = [need(cc), *flags, "-I", str(gen.lib), str(gen.lib / f"{gen.name}.c"), str(gen.runner),
           "-o", str(exe)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stderr}"
    return exe


def compile_only(gen: Generated, cc: str, flags: list[str], obj: Path) -> None:
    cmd = [need(cc), *WARN, "-O2", *flags, "-c", str(gen.lib / f"{gen.name}.c"), "-o", str(obj)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stderr}"


def run_exe(exe: Path, graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Feed N records (all inputs of one inference back to back) and split the N output records."""
    n = len(inputs[0])
    records = np.concatenate([x.reshape(n, -1).view(np.uint8) for x in inputs], axis=1)
    done = subprocess.run([str(exe), "-", "-"], input=records.tobytes(), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    out_tensors = [graph.tensor(name) for name in graph.outputs]
    raw = np.frombuffer(done.stdout, np.uint8).reshape(n, -1)
    assert raw.shape[1] == sum(t.nbytes for t in out_tensors)
    outs, at = [], 0
    for t in out_tensors:
        outs.append(raw[:, at:at + t.nbytes].copy().view(t.np_dtype).reshape((n, *t.shape)))
        at += t.nbytes
    return outs


def assert_same_bytes(ours: list[np.ndarray], ref: dict[str, np.ndarray], graph: Graph, what: str) -> None:
    for name, got in zip(graph.outputs, ours, strict=True):
        want = ref[name][: len(got)]
        bad = np.flatnonzero(np.any(got.reshape(len(got), -1) != want.reshape(len(got), -1), axis=1))
        assert bad.size == 0, f"{what}: output '{name}' differs from the reference on records {bad[:10]}"


def random_inputs(graph: Graph, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for name in graph.inputs:
        t = graph.tensor(name)
        if t.dtype == "int8":
            x = rng.integers(-128, 128, size=(n, *t.shape), dtype=np.int8)
            x[0] = 0
            x[1] = -128
            x[2] = 127
        else:
            x = rng.standard_normal((n, *t.shape)).astype(t.np_dtype)
        out.append(x)
    return out


# ---------------------------------------------------------------- the MLPerf Tiny int8 models


@dataclass
class ModelCase:
    gen: Generated
    inputs: list[np.ndarray]
    ref: dict[str, np.ndarray]


@pytest.fixture(scope="module", params=sorted(MLPERF_INT8))
def mlperf(request, models_dir, tmp_path_factory) -> ModelCase:
    key = request.param
    plan = plan_memory(lower(load_model(models_dir / MLPERF_INT8[key])))
    gen = generate_into(plan, tmp_path_factory.mktemp(f"cg_{key}"), key)
    inputs = random_inputs(plan.graph, N_RANDOM, seed=2024)
    if key == "kws":
        sample = np.load(models_dir / "mlperf_tiny/kws/kws_sample_input.npy")
        inputs = [np.concatenate([inputs[0], sample.reshape((1, *inputs[0].shape[1:]))])]
    ref: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(inputs[0]), 250):
        for name, y in run_plan(plan, [x[start:start + 250] for x in inputs]).items():
            ref.setdefault(name, []).append(y)
    return ModelCase(gen, inputs, {k: np.concatenate(v) for k, v in ref.items()})


@pytest.mark.parametrize("cc", sorted(HOST))
def test_mlperf_equals_reference(mlperf: ModelCase, cc: str) -> None:
    exe = build(mlperf.gen, cc, HOST[cc], cc)
    ours = run_exe(exe, mlperf.gen.plan.graph, mlperf.inputs)
    assert len(ours[0]) >= N_RANDOM
    assert_same_bytes(ours, mlperf.ref, mlperf.gen.plan.graph, f"{mlperf.gen.name} built with {cc}")


def test_mlperf_under_sanitizers(mlperf: ModelCase) -> None:
    exe = build(mlperf.gen, "gcc", SANITIZE, "asan")
    inputs = [x[-50:] for x in mlperf.inputs]  # includes the KWS sample
    ours = run_exe(exe, mlperf.gen.plan.graph, inputs)
    tail = {k: v[-50:] for k, v in mlperf.ref.items()}
    assert_same_bytes(ours, tail, mlperf.gen.plan.graph, f"{mlperf.gen.name} under ASan/UBSan")


def test_mlperf_simd32_path(mlperf: ModelCase) -> None:
    """The Cortex-M DSP code path (SXTB16/SMLAD), run on the host with C versions of the two instructions."""
    exe = build(mlperf.gen, "gcc", HOST["gcc"] + ["-DTINYC_EMULATE_SIMD32"], "simd")
    inputs = [x[:200] for x in mlperf.inputs]
    assert_same_bytes(run_exe(exe, mlperf.gen.plan.graph, inputs), mlperf.ref, mlperf.gen.plan.graph,
                      f"{mlperf.gen.name} with the SIMD32 path")


@pytest.mark.parametrize("cc", sorted(CROSS))
def test_mlperf_cross_compiles(mlperf: ModelCase, cc: str, tmp_path) -> None:
    gen = mlperf.gen
    obj = tmp_path / f"{gen.name}.o"
    compile_only(gen, cc, CROSS[cc], obj)
    if cc.startswith("arm"):
        assert_weights_section(obj, gen.report, "arm-none-eabi-")


def assert_weights_section(obj: Path, report: dict, prefix: str) -> None:
    """Every weight array is a tinyc_w_* symbol in .rodata.tinyc_weights; their sizes add up to the report."""
    headers = subprocess.run([need(prefix + "objdump"), "-h", str(obj)], capture_output=True,
                             text=True).stdout
    assert ".rodata.tinyc_weights" in headers
    syms = subprocess.run([need(prefix + "nm"), "-S", str(obj)], capture_output=True, text=True).stdout
    sizes = [int(line.split()[1], 16) for line in syms.splitlines()
             if len(line.split()) == 4 and line.split()[3].startswith("tinyc_w_")]
    assert sum(sizes) == report["totals"]["weight_bytes"] > 0


def test_mlperf_no_heap(mlperf: ModelCase, tmp_path) -> None:
    gen = mlperf.gen
    obj = tmp_path / "model.o"
    compile_only(gen, "gcc", [], obj)
    undefined = subprocess.run([need("nm"), "-u", str(obj)], capture_output=True, text=True,
                               check=True).stdout
    used = {line.split()[-1].lstrip("_") for line in undefined.splitlines() if line.strip()}
    assert not used & HEAP, f"the model object calls {sorted(used & HEAP)}"
    assert_weights_section(obj, gen.report, "")


def test_mlperf_report(mlperf: ModelCase) -> None:
    gen, plan = mlperf.gen, mlperf.gen.plan
    report = json.loads((gen.lib / "report.json").read_text())
    assert report == gen.report
    totals = report["totals"]
    assert totals["arena_bytes"] == plan.arena_size
    assert totals["arena_lower_bound"] == plan.lower_bound
    assert totals["macs"] == sum(s.macs for s in plan.steps) > 0
    assert totals["weight_bytes"] == sum(a.nbytes for s in plan.steps for a in emitted_consts(s).values())
    per_tensor = [s for s in plan.steps if scalar_requant(s)]  # multiplier and shift as literals, no arrays
    assert sum(s.consts["mult"].nbytes + s.consts["shift"].nbytes for s in per_tensor) == \
        sum(a.nbytes for s in plan.steps for a in s.consts.values()) - totals["weight_bytes"]
    assert per_tensor  # AD, KWS and IC all have per-tensor fully connected layers
    assert [row["node"] for row in report["layers"]] == [s.node for s in plan.steps]
    assert sorted(report["files"]) == sorted(p.name for p in gen.lib.iterdir())
    for row, step in zip(report["layers"], plan.steps, strict=True):
        assert row["macs"] == step.macs
        assert row["function"] is None if step.alias else row["function"].startswith("tinyc_")


def test_mlperf_header_macros(mlperf: ModelCase, tmp_path) -> None:
    """The header's macros, read back by a C program."""
    gen = mlperf.gen
    graph = gen.plan.graph
    m = gen.name.upper()
    t_in, t_out = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    src = tmp_path / "macros.c"
    src.write_text(f"""#include <stdio.h>
#include "{gen.name}.h"
int main(void) {{
    static const int in_shape[] = {m}_INPUT_SHAPE;
    printf("%d %d %d %d %.9g %d %.9g %d %ld %lld\\n", {m}_INPUT_SIZE, {m}_OUTPUT_SIZE, {m}_INPUT_DIMS,
           in_shape[{m}_INPUT_DIMS - 1], (double){m}_INPUT_SCALE, {m}_INPUT_ZERO_POINT,
           (double){m}_OUTPUT_SCALE, {m}_OUTPUT_ZERO_POINT, (long){m}_ARENA_SIZE, (long long){m}_MACS);
    return 0;
}}
""")
    exe = tmp_path / "macros"
    subprocess.run([need("gcc"), *WARN, "-I", str(gen.lib), str(src), "-o", str(exe)], check=True)
    got = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    want = [t_in.nbytes, t_out.nbytes, len(t_in.shape), t_in.shape[-1], t_in.quant.s, t_in.quant.zp,
            t_out.quant.s, t_out.quant.zp, gen.plan.arena_size, sum(s.macs for s in gen.plan.steps)]
    as_f32 = [np.array(v, np.float64).astype(np.float32) for v in (got, want)]
    assert np.array_equal(*as_f32)


# ---------------------------------------------------------------- the MLPerf Tiny float32 models

MLPERF_F32 = {  # model file, input range of the random samples
    "kws_f32": ("mlperf_tiny/kws/kws_ref_model_float32.tflite", (-120.0, 20.0)),
    "ic_f32": ("mlperf_tiny/ic/pretrainedResnet.tflite", (0.0, 255.0)),
    "ad_f32": ("mlperf_tiny/ad/ad01_fp32.tflite", (-67.0, 2.0)),
}


@pytest.mark.parametrize("key", sorted(MLPERF_F32))
def test_float_model_close_to_reference(key: str, models_dir, tmp_path) -> None:
    """The reference's float conv / depthwise / fully connected sum in float32 in the C's order, so a hybrid
    conv quantizing its float input on the fly sees the C's values bit for bit: close everywhere."""
    path, (lo, hi) = MLPERF_F32[key]
    plan = plan_memory(lower(load_model(models_dir / path)))
    gen = generate_into(plan, tmp_path, key)
    t = plan.graph.tensor(plan.graph.inputs[0])
    x = np.random.default_rng(3).uniform(lo, hi, (100, *t.shape)).astype(np.float32)
    ref = run_plan(plan, [x])[plan.graph.outputs[0]]
    for cc, flags in [("gcc", HOST["gcc"]), ("clang", HOST["clang"]), ("gcc", SANITIZE)]:
        ours = run_exe(build(gen, cc, flags, f"{cc}{len(flags)}"), plan.graph, [x])[0]
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max()), err_msg=cc)
    for cc, flags in CROSS.items():
        compile_only(gen, cc, flags, tmp_path / "x.o")


# ---------------------------------------------------------------- a synthetic graph with every int8 kernel


def q(scale: float | list[float], zp: int | list[int] = 0, axis: int | None = None) -> Quant:
    return Quant(np.atleast_1d(scale), np.atleast_1d(zp), axis)


def zoo_graph() -> Graph:
    """Two inputs, two outputs; conv with dilation and odd channels, depthwise x2, pools with padding,
    a stand-alone activation, add of a constant and of two activations, transpose, reshape, fc, softmax."""
    rng = np.random.default_rng(5)
    g = Graph("zoo", source="zoo (synthetic)")

    def act(name: str, shape: tuple, scale: float, zp: int) -> str:
        g.add_tensor(Tensor(name, shape, "int8", q(scale, zp)))
        return name

    def const(name: str, data: np.ndarray, dtype: str, quant: Quant | None = None) -> str:
        g.add_tensor(Tensor(name, data.shape, dtype, quant, data))
        return name

    def node(op: str, name: str, ins: list[str], out: str, **attrs) -> None:
        g.nodes.append(Node(op, name, ins, [out], attrs))

    x = act("x", (1, 9, 7, 3), 0.05, 3)
    side = act("side", (1, 7), 0.1, -5)
    g.inputs = [x, side]
    w = const("conv_w", rng.integers(-127, 128, (5, 3, 3, 3)), "int8",
              q([0.01, 0.02, 0.015, 0.03, 0.01], [0] * 5, 0))
    b = const("conv_b", rng.integers(-500, 500, 5), "int32")
    c1 = act("c1", (1, 5, 6, 5), 0.08, -20)
    node("conv2d", "conv", [x, w, b], c1, stride=(2, 1), dilation=(1, 2), pads=(1, 1, 1, 2),
         activation="relu6")
    dw = const("dw_w", rng.integers(-127, 128, (1, 3, 3, 10)), "int8",
               q(np.linspace(0.01, 0.05, 10), [0] * 10, 3))
    d1 = act("d1", (1, 5, 6, 10), 0.1, 7)
    node("depthwise_conv2d", "dw", [c1, dw], d1, stride=(1, 1), dilation=(1, 1), pads=(1, 1, 1, 1),
         depth_multiplier=2, activation="none")
    p1 = act("p1", (1, 3, 3, 10), 0.1, 7)
    node("max_pool2d", "maxpool", [d1], p1, kernel=(2, 2), stride=(2, 2), pads=(0, 0, 1, 0),
         activation="none")
    a1 = act("a1", (1, 3, 3, 10), 0.1, 7)
    node("avg_pool2d", "avgpool", [p1], a1, kernel=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1),
         activation="relu")
    r1 = act("r1", (1, 3, 3, 10), 0.02, -3)
    node("relu", "clamp", [a1], r1, activation="relu_n1_to_1")
    k = const("bias_c", rng.integers(-128, 128, (1, 1, 1, 10)), "int8", q(0.03, 4))
    s1 = act("s1", (1, 3, 3, 10), 0.05, 1)
    node("add", "addc", [r1, k], s1, activation="none")
    t1 = act("t1", (1, 10, 3, 3), 0.05, 1)
    node("transpose", "nchw", [s1], t1, perm=(0, 3, 1, 2))
    f1 = act("f1", (1, 90), 0.05, 1)
    node("reshape", "flatten", [t1], f1)
    fw = const("fc_w", rng.integers(-127, 128, (7, 90)), "int8", q(np.linspace(0.005, 0.01, 7), [0] * 7, 0))
    fb = const("fc_b", rng.integers(-1000, 1000, 7), "int32")
    y1 = act("y1", (1, 7), 0.2, 2)
    node("fully_connected", "fc", [f1, fw, fb], y1, activation="none")
    y2 = act("y2", (1, 7), 0.15, -1)
    node("add", "add2", [y1, side], y2, activation="relu")
    out = act("probs", (1, 7), 1 / 256, -128)
    node("softmax", "softmax", [y2], out, beta=1.0)
    g.outputs = [out, p1]  # p1 is also read by later steps: an output buffer used as an input
    return g


def identity_graph() -> Graph:
    """A graph whose only step is a reshape of the input into the output: a copy, not an alias."""
    g = Graph("ident")
    g.add_tensor(Tensor("x", (1, 4, 4, 2), "int8", q(0.1, 0)))
    g.add_tensor(Tensor("y", (1, 32), "int8", q(0.1, 0)))
    g.nodes.append(Node("reshape", "flatten", ["x"], ["y"], {}))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


@pytest.mark.parametrize("make", [zoo_graph, identity_graph])
def test_synthetic_graph_equals_reference(make, tmp_path) -> None:
    plan = plan_memory(lower(make()))
    gen = generate_into(plan, tmp_path, plan.graph.name)
    inputs = random_inputs(plan.graph, 300, seed=9)
    ref = run_plan(plan, inputs)
    simd = SANITIZE + ["-DTINYC_EMULATE_SIMD32"]  # the Cortex-M DSP path, emulated
    for cc, flags in [("gcc", HOST["gcc"]), ("clang", HOST["clang"]), ("gcc", SANITIZE), ("gcc", simd)]:
        exe = build(gen, cc, flags, f"{cc}{len(flags)}")
        assert_same_bytes(run_exe(exe, plan.graph, inputs), ref, plan.graph, f"{make.__name__} with {cc}")
    for cc, flags in CROSS.items():
        compile_only(gen, cc, flags, tmp_path / "x.o")


def test_zoo_api_has_every_input_and_output(tmp_path) -> None:
    plan = plan_memory(lower(zoo_graph()))
    generate(plan, tmp_path / "zoo", "zoo")
    header = (tmp_path / "zoo" / "zoo.h").read_text()
    api = "int zoo_run(const int8_t *input0, const int8_t *input1, int8_t *output0, int8_t *output1);"
    assert api in header
    for macro in ("ZOO_INPUT0_SIZE 189", "ZOO_INPUT1_SIZE 7", "ZOO_OUTPUT0_SIZE 7", "ZOO_OUTPUT1_SIZE 90",
                  "ZOO_OUTPUT0_ZERO_POINT -128"):
        assert f"#define {macro}" in header


# ---------------------------------------------------------------- files, folders and failures


@pytest.fixture(scope="module")
def kws_plan(models_dir) -> Plan:
    return plan_memory(lower(load_model(models_dir / MLPERF_INT8["kws"])))


def test_library_files(kws_plan, tmp_path) -> None:
    generate(kws_plan, tmp_path / "kws", "kws")
    names = sorted(p.name for p in (tmp_path / "kws").iterdir())
    assert names == ["CMakeLists.txt", "kws.c", "kws.h", "library.json", "report.json", "tinyc_fixedpoint.h"]
    manifest = json.loads((tmp_path / "kws" / "library.json").read_text())
    assert manifest["name"] == "kws"
    assert {"-std=c99", "-ffp-contract=off"} <= set(manifest["build"]["flags"])
    source = (tmp_path / "kws" / "kws.c").read_text()
    assert "malloc" not in source and "switch" not in source
    # reshapes emit no code; every other step is one call
    run = source.split("int kws_run(")[1]
    calls = [line for line in run.splitlines() if line.strip().startswith("tinyc_")]
    assert len(calls) == sum(not s.alias for s in kws_plan.steps)
    weights = [line for line in source.splitlines() if line.startswith("static const int")]
    assert all(" TINYC_WEIGHTS = {" in line and "tinyc_w_" in line for line in weights)


def test_cmake_builds_the_library(kws_plan, tmp_path) -> None:
    cmake = need("cmake")
    generate(kws_plan, tmp_path / "kws", "kws")
    build_dir = tmp_path / "build"
    for cmd in ([cmake, "-S", str(tmp_path / "kws"), "-B", str(build_dir), "-DCMAKE_C_FLAGS=-Wall -Werror"],
                [cmake, "--build", str(build_dir)]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    assert list(build_dir.glob("libkws.a"))


def test_regenerating_replaces_the_folder(kws_plan, tmp_path) -> None:
    out = tmp_path / "kws"
    generate(kws_plan, out, "kws")
    (out / "stale.c").write_text("old\n")
    generate(kws_plan, out, "kws")
    assert not (out / "stale.c").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kws"]  # no temporaries left


def test_refuses_to_replace_a_foreign_folder(kws_plan, tmp_path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious\n")
    with pytest.raises(TinycError, match="not a tinyc output"):
        generate(kws_plan, out, "kws")
    assert (out / "notes.txt").read_text() == "precious\n"


def test_unwritable_parent(kws_plan, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TinycError, match=str(blocker)) as info:
        generate(kws_plan, blocker / "out", "kws")
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_parent(kws_plan, tmp_path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        with pytest.raises(TinycError, match=str(parent)):
            generate(kws_plan, parent / "out", "kws")
        assert list(parent.iterdir()) == []
    finally:
        parent.chmod(0o755)


def test_failure_while_writing_leaves_nothing(kws_plan, tmp_path, monkeypatch) -> None:
    import tinyc.atomic

    out = tmp_path / "kws"
    real_write = tinyc.atomic._write_fd
    count = {"n": 0}

    def failing_write(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        count["n"] += 1
        if count["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(tinyc.atomic, "_write_fd", failing_write)
    with pytest.raises(TinycError, match="No space left"):
        generate(kws_plan, out, "kws")
    assert list(tmp_path.iterdir()) == []

    # with an earlier output in place, that one survives intact
    monkeypatch.setattr(tinyc.atomic, "_write_fd", real_write)
    generate(kws_plan, out, "kws")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    count["n"] = 0
    monkeypatch.setattr(tinyc.atomic, "_write_fd", failing_write)
    with pytest.raises(TinycError):
        generate(kws_plan, out, "kws")
    monkeypatch.setattr(tinyc.atomic, "_write_fd", real_write)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kws"]


def test_failure_while_rendering_leaves_nothing(kws_plan, tmp_path) -> None:
    plan = plan_memory(lower(identity_graph()))
    plan.steps[0].alias = False
    plan.steps[0].kernel = "no_such_kernel"
    with pytest.raises(TinycError, match="no_such_kernel"):
        generate(plan, tmp_path / "out", "ident")
    assert list(tmp_path.iterdir()) == []


def test_bad_model_name(kws_plan, tmp_path) -> None:
    with pytest.raises(TinycError, match="not a C identifier"):
        generate(kws_plan, tmp_path / "out", "kws-model")
    assert list(tmp_path.iterdir()) == []
