"""The pipeline as functions: model file -> graph -> plan, and batches of inputs through a target."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyc.errors import InputError
from tinyc.frontends import load_model
from tinyc.ir import Graph
from tinyc.lower import Plan, lower
from tinyc.memory import plan_memory


def build_plan(model: str | Path) -> Plan:
    return plan_memory(lower(load_model(model)))


def load_inputs(graph: Graph, path: str | Path) -> tuple[np.ndarray, bool]:
    """Read IN.npy: one input of the model's shape, or N of them stacked on a new leading axis.

    Returns the batch (N, *shape) and whether the file held a single input.
    """
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: cannot read as .npy ({exc})") from None
    if len(graph.inputs) != 1:
        raise InputError(f"model has {len(graph.inputs)} inputs; tinyc run takes single-input models")
    t = graph.tensor(graph.inputs[0])
    if x.dtype != t.np_dtype:
        raise InputError(f"{path}: input dtype {x.dtype}, model '{graph.name}' takes {t.dtype}")
    if x.shape == t.shape:
        return x[np.newaxis], True
    if x.shape[1:] == t.shape and x.shape[0] > 0:
        return x, False
    raise InputError(f"{path}: input shape {list(x.shape)}, model '{graph.name}' takes {list(t.shape)} "
                     f"or [N, {', '.join(map(str, t.shape))}]")


def run_reference(plan: Plan, batch: np.ndarray) -> np.ndarray:
    from tinyc.runtime import run_plan

    return run_plan(plan, [batch])[plan.graph.outputs[0]]


def model_name(plan: Plan) -> str:
    from tinyc.codegen import c_identifier

    return c_identifier(plan.graph.name).lower()


def compile_library(plan: Plan, out_dir: Path, board_id: str = "host", name: str | None = None) -> dict:
    """Generate the C library for a board (or "host"), refusing a model that does not fit the board."""
    from tinyc.codegen import generate

    board = None
    if board_id != "host":
        from tinyc.boards import load_board
        from tinyc.targets import check_fit

        board = load_board(board_id)
        check_fit(board, *memory_needs(plan))
    return generate(plan, Path(out_dir), name or model_name(plan), board)


def memory_needs(plan: Plan) -> tuple[int, int]:
    """Flash (weights) and RAM (arena + input and output buffers) the model needs at least."""
    from tinyc.codegen.kernels import emitted_consts

    weights = sum(int(a.nbytes) for step in plan.steps for a in emitted_consts(step).values())
    io = sum(plan.graph.tensor(n).nbytes for n in plan.graph.inputs + plan.graph.outputs)
    return weights, plan.arena_size + io


def run_on_target(plan: Plan, batch: np.ndarray, target: str) -> tuple[np.ndarray, dict]:
    """Run a batch on `ref`, `host` or a board id; returns the outputs (N, *shape) and a report."""
    if target == "ref":
        return run_reference(plan, batch), {"target": "ref", "inputs": len(batch)}
    import tempfile

    from tinyc.boards import board_ids

    if target != "host" and target not in board_ids():
        raise InputError(f"unknown target '{target}' (expected ref, host or one of: {', '.join(board_ids())})")
    out = plan.graph.tensor(plan.graph.outputs[0])
    flat = batch.reshape(len(batch), -1)
    with tempfile.TemporaryDirectory(prefix="tinyc-") as tmp:
        lib = Path(tmp) / "lib"
        name = model_name(plan)
        report = compile_library(plan, lib, target, name)
        if target == "host":
            from tinyc.targets import run_host

            outputs = run_host(lib, name, flat, output_dtype=out.np_dtype)
            return outputs.reshape((len(batch), *out.shape)), {"target": "host", "inputs": len(batch)}
        from tinyc.targets import run_board

        result = run_board(lib, name, target, flat, output_dtype=out.np_dtype)
    counts = result.instructions_per_inference
    return result.outputs.reshape((len(batch), *out.shape)), {
        "target": target, "inputs": len(batch), "macs": report["totals"]["macs"],
        "instructions_per_inference": counts,
        "instructions_per_mac": counts[0] / max(report["totals"]["macs"], 1) if counts else None,
        "flash": {"code": result.flash_code, "weights": result.flash_weights, "total": result.flash},
        "ram": {"arena": plan.arena_size, "static": result.ram_static, "stack_peak": result.stack_peak,
                "total": result.ram_peak},
    }
