"""The reference runtime: executes a lowered Plan with NumPy and the Cython kernels.

Arrays carry a leading batch axis on top of the IR shape: a tensor of IR shape (1, 49, 10, 1)
is held as (N, 1, 49, 10, 1) for N inputs.

Models with persistent state (LSTM, SVDF: TFLite's variable tensors) keep it per batch row. run_plan
without `state` runs each input as an independent inference from the reset state (TFLM reset before
each invocation; the generated C's `<name>_reset()` before each call); run_sequence runs the inputs as
consecutive invocations of one instance, the state carried from each to the next (TFLM invoked N times).
"""

from __future__ import annotations

import numpy as np

from tinyc.errors import InputError
from tinyc.lower.plan import Plan
from tinyc.ops import KERNELS


def initial_state(plan: Plan, batch: int) -> dict[str, np.ndarray]:
    """The reset state of `batch` independent instances of the model, by State name."""
    return {s.name: np.full((batch, *s.shape), s.init, np.dtype(s.dtype)) for step in plan.steps for s in step.state}


def run_plan(plan: Plan, inputs: list[np.ndarray], keep_all: bool = False,
             state: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Run a batch; returns the graph outputs (or every activation when keep_all) by tensor name.

    `state` (from initial_state, one row per input) is read and updated in place; without it every input
    starts from the reset state."""
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
    batch = len(inputs[0]) if inputs else 1
    if state is None:
        state = initial_state(plan, batch)
    last_use = {name: i for i, step in enumerate(plan.steps) for name in step.inputs}
    for i, step in enumerate(plan.steps):
        outs = KERNELS[step.kernel](step, [values[n] for n in step.inputs] + [state[s.name] for s in step.state])
        if not step.inputs and not step.state:  # a constant's copy gives one row: the same for every input
            outs = [np.repeat(o, batch, axis=0) if len(o) == 1 else o for o in outs]
        n_out = len(step.outputs)
        values.update(zip(step.outputs, outs[:n_out], strict=True))
        state.update(zip((s.name for s in step.state), outs[n_out:], strict=True))
        if not keep_all:
            for name in dict.fromkeys(step.inputs):  # a step may read one tensor twice (x * x)
                if last_use.get(name) == i and name not in graph.outputs:
                    del values[name]
    return values if keep_all else {name: values[name] for name in graph.outputs}


def run_sequence(plan: Plan, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The N inputs of a batch as N consecutive invocations of one model instance, without reset."""
    state = initial_state(plan, 1)
    runs = [run_plan(plan, [x[k:k + 1] for x in inputs], state=state) for k in range(len(inputs[0]))]
    return {name: np.concatenate([r[name] for r in runs]) for name in plan.graph.outputs}
