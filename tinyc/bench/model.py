"""A model under benchmark: its plan, seeded test inputs (the all-zero input first) and the reference
runtime's outputs for them, shared by every board the model runs on."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.errors import InputError
from tinyc.ir import Tensor
from tinyc.lower import Plan


@dataclass(frozen=True)
class BenchModel:
    path: Path
    label: str  # the file name without its suffix: the model's key in a matrix and a baseline
    sha256: str
    plan: Plan
    plan_seconds: float  # frontend + passes + lowering + memory planning
    inputs: np.ndarray  # [N + 1, *input shape]; row 0 is all-zero bytes
    expected: np.ndarray  # the reference runtime's outputs, [N + 1, *output shape]

    @property
    def input_tensor(self) -> Tensor:
        return self.plan.graph.tensor(self.plan.graph.inputs[0])

    @property
    def output_tensor(self) -> Tensor:
        return self.plan.graph.tensor(self.plan.graph.outputs[0])


def model_label(path: str | Path) -> str:
    return Path(path).name.rsplit(".", 1)[0]


def random_inputs(tensor: Tensor, count: int, seed: int) -> np.ndarray:
    """The all-zero input followed by ``count`` seeded random ones: the whole integer range for integer
    inputs, standard normal values for float inputs."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(tensor.np_dtype)
    shape = (count, *tensor.shape)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        rand = rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)
    else:
        rand = rng.standard_normal(shape).astype(dtype)
    return np.concatenate([np.zeros((1, *tensor.shape), dtype=dtype), rand])


def load_bench_model(path: str | Path, count: int, seed: int, patch: bool = False) -> BenchModel:
    from tinyc.pipeline import build_plan, run_reference

    path = Path(path)
    start = time.perf_counter()
    plan = build_plan(path, patch)
    plan_seconds = time.perf_counter() - start
    graph = plan.graph
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise InputError(f"{path}: tinyc bench takes single-input, single-output models "
                         f"({len(graph.inputs)} inputs, {len(graph.outputs)} outputs)")
    inputs = random_inputs(graph.tensor(graph.inputs[0]), count, seed)
    return BenchModel(
        path=path,
        label=model_label(path),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        plan=plan,
        plan_seconds=plan_seconds,
        inputs=inputs,
        expected=run_reference(plan, inputs),
    )
