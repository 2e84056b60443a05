"""The reference runtime: executes a lowered Plan with NumPy and the Cython kernels.

Arrays carry a leading batch axis on top of the IR shape: a tensor of IR shape (1, 49, 10, 1)
is held as (N, 1, 49, 10, 1) for N inputs.
"""

from __future__ import annotations

import numpy as np

from tinyc.errors import InputError
from tinyc.lower.plan import Plan
from tinyc.ops import KERNELS


def run_plan(plan: Plan, inputs: list[np.ndarray], keep_all: bool = False) -> dict[str, np.ndarray]:
    """Run a batch; returns the graph outputs (or every activation when keep_all) by tensor name."""
    graph = plan.graph
    if len(inputs) != len(graph.inputs):
        raise InputError(f"model has {len(graph.inputs)} inputs, got {len(inputs)}")
    values: dict[str, np.ndarray] = {}
    for name, x in zip(graph.inputs, inputs, strict=True):
        t = graph.tensor(name)
        if x.shape[1:] != t.shape or x.dtype != t.np_dtype:
            raise InputError(f"input '{name}' must be {t.dtype}{list(t.shape)} per sample, "
                             f"got {x.dtype}{list(x.shape[1:])}")
        values[name] = x
    last_use = {name: i for i, step in enumerate(plan.steps) for name in step.inputs}
    for i, step in enumerate(plan.steps):
        outs = KERNELS[step.kernel](step, [values[n] for n in step.inputs])
        values.update(zip(step.outputs, outs, strict=True))
        if not keep_all:
            for name in step.inputs:
                if last_use.get(name) == i and name not in graph.outputs:
                    del values[name]
    return values if keep_all else {name: values[name] for name in graph.outputs}
