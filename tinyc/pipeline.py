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


def run_on_target(plan: Plan, batch: np.ndarray, target: str) -> tuple[np.ndarray, dict]:
    """Run a batch on `ref`, `host` or a board id; returns the outputs (N, *shape) and a report."""
    if target == "ref":
        return run_reference(plan, batch), {"target": "ref", "inputs": len(batch)}
    raise InputError(f"unknown target '{target}' (expected ref)")
