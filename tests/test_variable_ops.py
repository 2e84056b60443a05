"""Resource variables (VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE) initialised by CALL_ONCE: the reference
runtime equals TFLM byte for byte, and the generated C (ASan/UBSan, -Werror) the reference, in both state modes.

Independent inferences start from the variables' initial values, as a freshly created TFLM interpreter (whose
first invoke runs CALL_ONCE): TFLM is compared with a fresh interpreter per input. A stream is one interpreter
invoked N times (run_sequence, the host runner's --sequence). TFLM's reset() does not run CALL_ONCE again but
fills the variables with their zero point; tinyc's `<name>_reset()` restores the initial values
(test_tflm_reset_is_not_tinyc_reset).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests import variable_models as vm
from tests.helpers import assert_one_line_error, invoke
from tests.single_op import merge
from tests.test_signal_ops import host_outputs
from tinyc.frontends import load_model
from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.passes import run_default_passes
from tinyc.pipeline import compile_library
from tinyc.runtime import run_plan, run_sequence

tflm_runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N = 200
MODELS = {  # name -> (builder, number of variables)
    "accumulator_f32": (vm.accumulator_f32, 1),
    "leaky_s8": (vm.leaky_s8, 1),
    "ring_f32": (vm.ring_f32, 1),
    "ring_acc_s8": (vm.ring_acc_s8, 2),
    "ring_default_s8": (lambda rng: vm.ring_default_s8(), 1),
    "overwrite_f32": (vm.overwrite_f32, 1),
}


def tflm(path: Path, x: np.ndarray, stream: bool) -> np.ndarray:
    """TFLM's output per input: a fresh interpreter for each, or one interpreter invoked len(x) times."""
    outs = []
    interp = tflm_runtime.Interpreter.from_file(str(path))
    for row in x:
        if not stream:
            interp = tflm_runtime.Interpreter.from_file(str(path))
        interp.set_input(row, 0)
        interp.invoke()
        outs.append(interp.get_output(0).copy())
    return np.stack(outs)


def random_input(graph: Graph, n: int, rng: np.random.Generator) -> np.ndarray:
    t = graph.tensor(graph.inputs[0])
    if t.dtype == "float32":
        return rng.normal(0, 1.5, (n, *t.shape)).astype(np.float32)
    return rng.integers(-128, 128, (n, *t.shape)).astype(np.int8)


def equal_rows(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.all(a.reshape(len(a), -1).view(np.uint8) == b.reshape(len(b), -1).view(np.uint8), axis=1).sum())


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> dict[str, tuple[Graph, np.ndarray]]:
    """Every model's reference output equal to TFLM's on N inputs in each mode; the graphs and inputs."""
    folder = tmp_path_factory.mktemp("variables")
    done = {}
    for k, (name, (build, n_vars)) in enumerate(MODELS.items()):
        path = folder / f"{name}.tflite"
        path.write_bytes(build(np.random.default_rng(k)))
        graph = load_model(path)
        plan = plan_memory(lower(graph))
        states = {s.name for step in plan.steps for s in step.state}
        assert len(states) == n_vars, f"{name}: one state buffer per variable, got {sorted(states)}"
        x = random_input(graph, N, np.random.default_rng(100 + k))
        out = graph.outputs[0]
        independent, stream = run_plan(plan, [x])[out], run_sequence(plan, [x])[out]
        assert equal_rows(independent, tflm(path, x, stream=False)) == N, name
        assert equal_rows(stream, tflm(path, x, stream=True)) == N, name
        assert equal_rows(independent, stream) < N // 2, f"{name}: the state made no difference"
        done[name] = (graph, x)
    return done


def test_reference_equals_tflm(checked) -> None:
    assert list(checked) == list(MODELS)  # each compared on N inputs per mode inside `checked`
    print(f"{len(checked)} models x {N} inputs x 2 modes: reference byte-equal to TFLM")


def test_generated_c_equals_reference(checked, tmp_path: Path) -> None:
    graph = merge([g for g, _ in checked.values()], "variables")
    for node in graph.nodes:  # merge prefixes tensors and nodes with g<k>_; the variables need it too
        if "variable" in node.attrs:
            node.attrs["variable"] = f"{node.name.split('_')[0]}_{node.attrs['variable']}"
    plan = plan_memory(lower(graph))
    xs = [x for _, x in checked.values()]
    for sequence, want in ((False, run_plan(plan, xs)), (True, run_sequence(plan, xs))):
        got = host_outputs(plan, xs, tmp_path / str(sequence), sequence)
        for name, g in zip(plan.graph.outputs, got, strict=True):
            assert g.tobytes() == want[name].tobytes(), (name, sequence)
    header = (tmp_path / "False" / "lib" / "variables.h").read_text()
    assert "CALL_ONCE" in header and f"#define VARIABLES_STATE_SIZE {plan.state_size}" in header


def accumulator(path: Path, name: str = "s", init_name: str = "s") -> Path:
    """y = state + x, assigned to the state; initial value (1, 2, 3, 4)."""
    path.write_bytes(vm.build_model([
        vm.Sub([vm.T("x", "float32", [1, 4]), vm.T("h", "resource", [1]), vm.T("s", "float32", [1, 4]),
                vm.T("y", "float32", [1, 4])],
               [vm.call_once(), vm.var_handle(name, 1), vm.Op("READ_VARIABLE", [1], [2]), vm.add(0, 2, 3),
                vm.Op("ASSIGN_VARIABLE", [1, 3], [])], [0], [3]),
        vm.init_subgraph({init_name: vm.T("init", "float32", [1, 4], np.arange(1, 5, dtype=np.float32)[None])})]))
    return path


def test_tflm_reset_is_not_tinyc_reset(tmp_path: Path) -> None:
    """TFLM's reset() fills the variable with its zero point (0.0 here) and does not run CALL_ONCE again; a
    fresh interpreter, and tinyc's independent inference, starts from the initial value (1, 2, 3, 4)."""
    path = accumulator(tmp_path / "acc.tflite")
    x = np.ones((3, 1, 4), np.float32)
    interp = tflm_runtime.Interpreter.from_file(str(path))
    after_reset = []
    for row in x:
        interp.reset()
        interp.set_input(row, 0)
        interp.invoke()
        after_reset.append(interp.get_output(0).reshape(-1).tolist())
    assert after_reset == [[2, 3, 4, 5], [1, 1, 1, 1], [1, 1, 1, 1]]
    plan = plan_memory(lower(load_model(path)))
    assert run_plan(plan, [x])["y"].reshape(3, 4).tolist() == [[2, 3, 4, 5]] * 3
    assert run_sequence(plan, [x])["y"].reshape(3, 4).tolist() == [[2, 3, 4, 5], [3, 4, 5, 6], [4, 5, 6, 7]]


@pytest.mark.parametrize(("name", "init_name"), [("s\0junk", "s"), ("s", "t"), ("\xe9t\xe9", "\xe9t\xe9")])
def test_variable_names_compare_as_c_strings(name: str, init_name: str, tmp_path: Path) -> None:
    """TFLM matches shared names with strcmp: up to the first NUL byte (a name the init subgraph does not
    assign starts from its zero-point fill)."""
    path = accumulator(tmp_path / "acc.tflite", name, init_name)
    x = np.random.default_rng(0).normal(size=(20, 1, 4)).astype(np.float32)
    plan = plan_memory(lower(load_model(path)))
    for stream, ours in ((False, run_plan(plan, [x])["y"]), (True, run_sequence(plan, [x])["y"])):
        assert ours.tobytes() == tflm(path, x, stream).tobytes(), stream


def test_passes_keep_assignments(tmp_path: Path) -> None:
    """Dead-code removal keeps ASSIGN_VARIABLE (no outputs), constant folding leaves an assigned constant."""
    path = tmp_path / "overwrite.tflite"
    path.write_bytes(vm.overwrite_f32(np.random.default_rng(0)))
    graph = run_default_passes(load_model(path))
    assert [n.op for n in graph.nodes] == ["read_variable", "add", "assign_variable"]
    code, err, out = invoke("inspect", path)
    assert code == 0, err
    assert "assign_variable" in out


def _main(ops: list[vm.Op], tensors: list[vm.T] | None = None) -> vm.Sub:
    ts = tensors or [vm.T("x", "float32", [1, 4]), vm.T("h", "resource", [1]), vm.T("s", "float32", [1, 4]),
                     vm.T("y", "float32", [1, 4])]
    return vm.Sub(ts, ops, [0], [3])


READ_ADD_ASSIGN = [vm.var_handle("s", 1), vm.Op("READ_VARIABLE", [1], [2]), vm.add(0, 2, 3),
                   vm.Op("ASSIGN_VARIABLE", [1, 3], [])]
INIT = vm.init_subgraph({"s": vm.T("init", "float32", [1, 4], np.zeros((1, 4), np.float32))})
REFUSED = {
    "three_subgraphs": ([_main([vm.call_once()] + READ_ADD_ASSIGN), INIT, INIT], "3 subgraphs"),
    "two_without_call_once": ([_main(READ_ADD_ASSIGN), INIT], "2 subgraphs"),
    "call_once_not_first": ([_main(READ_ADD_ASSIGN[:1] + [vm.call_once()] + READ_ADD_ASSIGN[1:]), INIT],
                            "CALL_ONCE is supported only as the first operator"),
    "init_computes": ([_main([vm.call_once()] + READ_ADD_ASSIGN),
                       vm.Sub(INIT.tensors + [vm.T("sum", "float32", [1, 4])],
                              INIT.ops[:1] + [vm.add(1, 1, 2), vm.Op("ASSIGN_VARIABLE", [0, 2], [])])],
                      "may hold only VAR_HANDLE and ASSIGN_VARIABLE"),
    "init_assigns_no_constant": ([_main([vm.call_once()] + READ_ADD_ASSIGN),
                                  vm.Sub([vm.T("h", "resource", [1]), vm.T("v", "float32", [1, 4])],
                                         [vm.var_handle("s", 0), vm.Op("ASSIGN_VARIABLE", [0, 1], [])])],
                                 "assigns a computed value"),
    "never_assigned": ([_main(READ_ADD_ASSIGN[:3])], "read but never assigned"),
    "dtype_mismatch": ([_main([vm.call_once()] + READ_ADD_ASSIGN,
                              [vm.T("x", "int32", [1, 4]), vm.T("h", "resource", [1]), vm.T("s", "int32", [1, 4]),
                               vm.T("y", "int32", [1, 4])]), INIT],
                       "variable 's' is int32[1, 4]"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_other_forms_are_one_line_errors(case: str, tmp_path: Path) -> None:
    subgraphs, needle = REFUSED[case]
    path = tmp_path / f"{case}.tflite"
    path.write_bytes(vm.build_model(subgraphs))
    code, err, _ = invoke("inspect", path)
    assert_one_line_error(code, err, needle, f"{case}.tflite")


def test_library_resets_to_initial_values(tmp_path: Path) -> None:
    """The initial value is a constant array in the library, copied into the state by `<name>_reset()`."""
    path = tmp_path / "ring.tflite"
    path.write_bytes(vm.ring_f32(np.random.default_rng(3)))
    plan = plan_memory(lower(load_model(path)))
    compile_library(plan, tmp_path / "lib", "host", "ring")
    source = (tmp_path / "lib" / "ring.c").read_text()
    assert "static const uint8_t tinyc_state_init0[60]" in source
    assert "s[i] = tinyc_state_init0[i];" in source.split("void ring_reset(void)")[1]
