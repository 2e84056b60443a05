"""The pipeline as functions: model file -> graph -> plan, and batches of inputs through a target."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyc.errors import InputError, shown
from tinyc.frontends import load_model
from tinyc.ir import Graph
from tinyc.lower import Plan, lower
from tinyc.memory import plan_memory


def build_plan(model: str | Path, patch: bool = False) -> Plan:
    """The model's lowered, memory-planned steps; `patch`: its first layers in row bands where that pays
    (tinyc.memory.patch)."""
    if patch:
        from tinyc.memory.patch import patched_plan

        return patched_plan(load_model(model))
    return plan_memory(lower(load_model(model)))


def load_inputs(graph: Graph, path: str | Path) -> tuple[list[np.ndarray], bool]:
    """Read IN.npy (a model with one input) or IN.npz (arrays `input0`, `input1`, ... in the model's input
    order): each one input of its tensor's shape and dtype, or N of them stacked on a new leading axis.

    Returns one batch (N, *shape) per model input and whether the file held a single inference.
    """
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: cannot read as .npy or .npz ({exc})") from None
    count = len(graph.inputs)
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            keys = [f"input{k}" for k in range(count)]
            unknown = sorted(set(data.files) - set(keys) - {"input_names"})
            missing = [k for k in keys if k not in data.files]
            if missing or unknown:
                raise InputError(f"{path}: the model takes {count} input(s), arrays {', '.join(keys)}; "
                                 f"{'missing ' + ', '.join(missing) if missing else 'unknown ' + shown(unknown)}")
            arrays = [data[k] for k in keys]
    elif count != 1:
        raise InputError(f"{path}: the model has {count} inputs; give them as IN.npz with arrays input0 .. "
                         f"input{count - 1}")
    else:
        arrays = [data]
    batches, singles = [], []
    for k, (name, x) in enumerate(zip(graph.inputs, arrays, strict=True)):
        t = graph.tensor(name)
        which = f"input {k} ('{shown(name)}')" if count > 1 else "input"
        if x.dtype != t.np_dtype:
            raise InputError(f"{path}: {which} dtype {x.dtype}, model '{shown(graph.name)}' takes {t.dtype}")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            bad = int(np.flatnonzero(~np.isfinite(x.reshape(-1)))[0])
            raise InputError(f"{path}: {which} holds {x.reshape(-1)[bad]} at flat index {bad}; float inputs must "
                             "be finite")
        if x.shape == t.shape:
            batches.append(x[np.newaxis])
            singles.append(True)
        elif x.shape[1:] == t.shape and x.shape[0] > 0:
            batches.append(x)
            singles.append(False)
        else:
            raise InputError(f"{path}: {which} shape {list(x.shape)}, model '{shown(graph.name)}' takes "
                             f"{list(t.shape)} or [N, {', '.join(map(str, t.shape))}]")
    if len(set(singles)) > 1 or len({len(b) for b in batches}) > 1:
        raise InputError(f"{path}: the inputs hold different numbers of inferences")
    return batches, singles[0]


def check_output_path(graph: Graph, path: str | Path) -> None:
    """OUT.npz takes any model's outputs, any other name (OUT.npy) one output only."""
    if Path(path).suffix.lower() != ".npz" and len(graph.outputs) != 1:
        raise InputError(f"model '{shown(graph.name)}' has {len(graph.outputs)} outputs; write them with "
                         "-o OUT.npz")


def save_outputs(path: str | Path, graph: Graph, outputs: list[np.ndarray], single: bool) -> None:
    """Write OUT.npy (one output) or OUT.npz: arrays `output0`, `output1`, ... in the model's output order and
    `output_names`, the tensor names (so no model text becomes a file name inside the archive)."""
    from tinyc.atomic import save_numpy

    check_output_path(graph, path)
    arrays = [out[0] if single else out for out in outputs]
    if Path(path).suffix.lower() == ".npz":
        named = {f"output{k}": a for k, a in enumerate(arrays)}
        save_numpy(path, named | {"output_names": np.array(graph.outputs, dtype=str)})
    else:
        save_numpy(path, arrays[0])


def run_reference(plan: Plan, batch: np.ndarray) -> np.ndarray:
    """The one output of a single-input, single-output model (see run_model for any model)."""
    return _only(plan, run_model(plan, [batch], "ref")[0])


def run_on_target(plan: Plan, batch: np.ndarray, target: str) -> tuple[np.ndarray, dict]:
    """run_model for a single-input, single-output model: its outputs (N, *shape) and the report."""
    outputs, report = run_model(plan, [batch], target)
    return _only(plan, outputs), report


def _only(plan: Plan, outputs: list[np.ndarray]) -> np.ndarray:
    if len(plan.graph.inputs) != 1 or len(outputs) != 1:
        raise InputError(f"model '{shown(plan.graph.name)}' has {len(plan.graph.inputs)} inputs and "
                         f"{len(outputs)} outputs; use run_model")
    return outputs[0]


def model_name(plan: Plan) -> str:
    from tinyc.codegen.cformat import model_identifier

    return model_identifier(plan.graph.name)


def compile_library(plan: Plan, out_dir: Path, board_id: str = "host", name: str | None = None,
                    layout: str = "library", goal: str | None = None) -> dict:
    """Generate the C library for a board (or "host"), refusing a model that does not fit the board; layout
    "arduino" writes it as an Arduino library. goal: the kernel variants' trade-off (tinyc/codegen/variants.py);
    where the dense kernels `speed` or `balanced` pick would not fit the board's flash, the sparse ones stay.
    A plan too big for the board's RAM runs its first layers in row bands where that makes it fit
    (tinyc.memory.patch; the report's totals.patch says so)."""
    from tinyc.codegen import generate

    board = None
    if board_id != "host":
        from tinyc.boards import load_board
        from tinyc.codegen.variants import for_core
        from tinyc.targets import check_fit
        from tinyc.targets.fit import fit_problems

        board = load_board(board_id)
        plan = fit_in_ram(plan, board_id)
        chosen = for_core(plan, board, goal)
        if fit_problems(board, *memory_needs(chosen)):
            goal = "size"
        else:
            plan = chosen
        check_fit(board, *memory_needs(plan))
    return generate(plan, Path(out_dir), name or model_name(plan), board, layout, goal)


def fit_in_ram(plan: Plan, board_id: str) -> Plan:
    """`plan`, or where its arena and I/O buffers do not fit the board's RAM and row bands make them fit, the
    plan with its first layers in bands (tinyc.memory.patch); else the refusal names the RAM it needs as it
    stands. The host has no RAM to fit."""
    if board_id == "host" or plan.patch is not None:
        return plan
    from tinyc.boards import load_board
    from tinyc.targets.fit import fit_problems

    board = load_board(board_id)
    if not fit_problems(board, 0, memory_needs(plan)[1]):
        return plan
    from tinyc.memory.patch import patched_plan

    banded = patched_plan(plan.graph)
    return banded if banded.patch is not None and not fit_problems(board, 0, memory_needs(banded)[1]) else plan


def memory_needs(plan: Plan) -> tuple[int, int]:
    """Flash (weights) and RAM (arena + input and output buffers) the model needs at least."""
    from tinyc.codegen.kernels import emitted_consts

    unique = {(a.dtype.str, a.size, np.ascontiguousarray(a).tobytes()): int(a.nbytes)  # as weight_arrays emits
              for step in plan.steps for a in emitted_consts(step).values()}
    weights = sum(unique.values())
    io = sum(plan.graph.tensor(n).nbytes for n in plan.graph.inputs + plan.graph.outputs)
    return weights, plan.arena_size + io


def run_model(plan: Plan, inputs: list[np.ndarray], target: str,
              goal: str | None = None) -> tuple[list[np.ndarray], dict]:
    """Run batches (one (N, *shape) array per model input, in the model's dtypes) on `ref`, `host` or a board
    id (its kernels chosen for `goal`, see compile_library); returns one (N, *shape) array per model output, in
    its dtype, and a report."""
    graph = plan.graph
    if target == "ref":
        from tinyc.runtime import run_plan

        values = run_plan(plan, inputs)
        return [values[name] for name in graph.outputs], {"target": "ref", "inputs": len(inputs[0])}
    import tempfile

    from tinyc.boards import board_ids
    from tinyc.targets.library import pack_records, split_records

    if target != "host" and target not in board_ids():
        raise InputError(f"unknown target '{target}' (expected ref, host or one of: {', '.join(board_ids())})")
    if len(inputs) != len(graph.inputs):
        raise InputError(f"model has {len(graph.inputs)} inputs, got {len(inputs)}")
    for name, x in zip(graph.inputs, inputs, strict=True):
        t = graph.tensor(name)
        if x.shape[1:] != t.shape or x.dtype != t.np_dtype:
            raise InputError(f"input '{shown(name)}' must be {t.dtype}{list(t.shape)} per sample, "
                             f"got {x.dtype}{list(x.shape[1:])}")
    records = pack_records(inputs)
    kinds = [(graph.tensor(n).np_dtype, graph.tensor(n).shape) for n in graph.outputs]
    with tempfile.TemporaryDirectory(prefix="tinyc-") as tmp:
        lib = Path(tmp) / "lib"
        name = model_name(plan)
        report = compile_library(plan, lib, target, name, goal=goal)
        if target == "host":
            from tinyc.targets import run_host

            return split_records(run_host(lib, name, records), kinds), {"target": "host", "inputs": len(records)}
        from tinyc.targets import run_board

        result = run_board(lib, name, target, records)
    counts = result.instructions_per_inference
    io = report["totals"]["input_bytes"] + report["totals"]["output_bytes"]  # counted as TFLM counts them
    return split_records(result.outputs, kinds), {
        "target": target, "inputs": len(records), "macs": report["totals"]["macs"],
        "instructions_per_inference": counts,
        "instructions_per_mac": counts[0] / max(report["totals"]["macs"], 1) if counts else None,
        "flash": {"code": result.flash_code, "weights": result.flash_weights, "total": result.flash},
        "ram": {"arena": report["totals"]["arena_bytes"], "arena_lower_bound": report["totals"]["arena_lower_bound"],
                "patch": report["totals"]["patch"], "static": result.ram_static,
                "stack_peak": result.stack_peak, "io": io, "total": result.ram_peak + io},
    }
