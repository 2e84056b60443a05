"""Single-op TFLite models for the op-family tests: build one node in the IR, write it with tinyc's exporter,
run it in TFLM and, read back through tinyc's frontend, in the reference runtime; merge many such graphs into
one so that the generated C of all of them builds and runs once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.ops._common import same_padding, window_out_size
from tinyc.runtime import run_plan

QUANT = {"int8": (0.05, -3), "int16": (0.001, 0)}


@dataclass
class Case:
    """One node: activations `inputs` ((shape, dtype) each; constants as arrays) -> `outputs` (shape, dtype)."""

    id: str
    op: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    quant_out: tuple[float, int] | None = None  # the output's (scale, zero point) when it differs from the input's
    engine: str = "tflm"  # "litert" for ops TFLM does not register (TILE, ARG_MAX to int64)


def window(x: tuple, k: tuple, stride: tuple, dilation: tuple = (1, 1), same: bool = False) -> tuple[tuple, int, int]:
    """A conv/pool window over NHWC `x`: TFLite's SAME (or VALID) pads (top, left, bottom, right) and the output
    height and width."""
    pads = (0, 0, 0, 0)
    if same:
        (t, b), (lf, r) = (same_padding(x[1 + d], k[d], stride[d], dilation[d]) for d in (0, 1))
        pads = (t, lf, b, r)
    oh = window_out_size(x[1], k[0], stride[0], dilation[0], pads[0], pads[2])
    ow = window_out_size(x[2], k[1], stride[1], dilation[1], pads[1], pads[3])
    return pads, oh, ow


def quant_for(dtype: str, qp: tuple[float, int] | None = None) -> Quant | None:
    if dtype not in QUANT and qp is None:
        return None
    s, z = qp or QUANT[dtype]
    return Quant(np.float32([s]), np.int32([z]))


def case_graph(case: Case, prefix: str = "") -> Graph:
    g = Graph(f"{prefix}{case.op}", source=case.id)
    names = []
    for k, spec in enumerate(case.inputs):
        name = f"{prefix}x{k}"
        if isinstance(spec, np.ndarray):
            dtype = str(spec.dtype)
            g.add_tensor(Tensor(name, spec.shape or (1,), dtype, quant_for(dtype), spec))
        else:
            shape, dtype = spec
            g.add_tensor(Tensor(name, shape, dtype, quant_for(dtype)))
            g.inputs.append(name)
        names.append(name)
    outs = []
    for k, (shape, dtype) in enumerate(case.outputs):
        name = f"{prefix}y{k}"
        g.add_tensor(Tensor(name, shape, dtype, quant_for(dtype, case.quant_out if dtype in QUANT else None)))
        outs.append(name)
    g.nodes.append(Node(case.op, f"{prefix}{case.op}_0", names, outs, dict(case.attrs)))
    g.outputs = outs
    g.verify()
    return g


def random_input(t: Tensor, n: int, rng: np.random.Generator) -> np.ndarray:
    if t.dtype == "float32":
        return rng.standard_normal((n, *t.shape)).astype(np.float32)
    if t.dtype == "bool":
        return rng.integers(0, 2, size=(n, *t.shape)).astype(np.bool_)
    info = np.iinfo(t.np_dtype)
    lo, hi = max(info.min, -(2**31)), min(info.max, 2**31 - 1)
    x = rng.integers(lo, hi, size=(n, *t.shape), endpoint=True).astype(t.np_dtype)
    x[0], x[1] = info.min if info.min >= -(2**31) else lo, hi
    return x


def tflm_run(path: Path, inputs: list[np.ndarray], n_out: int) -> list[np.ndarray]:
    """TFLM's outputs for each record of the input batches."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_file(str(path), arena_size=1 << 20)
    outs: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    for i in range(len(inputs[0]) if inputs else 1):
        for k, x in enumerate(inputs):
            interp.set_input(x[i], k)
        interp.invoke()
        for k in range(n_out):
            outs[k].append(interp.get_output(k).copy())
    return [np.stack(o) for o in outs]


def litert_run(path: Path, inputs: list[np.ndarray], n_out: int) -> list[np.ndarray]:
    """Full TFLite's (LiteRT's) outputs for each record of the input batches."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    ins, outs_d = interp.get_input_details(), interp.get_output_details()
    outs: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    for i in range(len(inputs[0])):
        for d, x in zip(ins, inputs, strict=True):
            interp.set_tensor(d["index"], x[i])
        interp.invoke()
        for k in range(n_out):
            outs[k].append(interp.get_tensor(outs_d[k]["index"]).copy())
    return [np.stack(o) for o in outs]


def check_against_tflm(case: Case, folder: Path, n: int, seed: int = 0) -> tuple[Graph, list[np.ndarray]]:
    """Byte equality of the reference runtime with TFLM on n random inputs; returns the graph tinyc read back
    and the inputs (for the C run)."""
    path = folder / f"{case.id}.tflite"
    write_tflite(case_graph(case), path)
    graph = load_model(path)
    rng = np.random.default_rng(seed)
    xs = [random_input(graph.tensor(name), n, rng) for name in graph.inputs]
    want = (litert_run if case.engine == "litert" else tflm_run)(path, xs, len(graph.outputs))
    got = run_plan(plan_memory(lower(graph)), xs)
    for name, w in zip(graph.outputs, want, strict=True):
        g = got[name]
        assert g.dtype == w.dtype, f"{case.id}: {g.dtype} vs {case.engine} {w.dtype}"
        g, w = g.reshape(n, -1), w.reshape(n, -1)
        assert g.shape == w.shape, f"{case.id}: shape {g.shape} vs TFLM {w.shape}"
        g, w = (np.ascontiguousarray(a).view(np.uint8).reshape(n, -1) for a in (g, w))
        bad = np.flatnonzero(np.any(g != w, axis=1))
        assert bad.size == 0, f"{case.id}: output '{name}' differs from {case.engine} on inputs {bad[:10]}"
    return graph, xs


def merge(graphs: list[Graph], name: str) -> Graph:
    """One graph running the given graphs side by side (tensor and node names made unique by prefix)."""
    out = Graph(name, source=name)
    for k, g in enumerate(graphs):
        ren = {t: f"g{k}_{t}" for t in g.tensors}
        for t in g.tensors.values():
            out.add_tensor(Tensor(ren[t.name], t.shape, t.dtype, t.quant, t.data))
        for node in g.nodes:
            out.nodes.append(Node(node.op, f"g{k}_{node.name}", [ren[i] if i else "" for i in node.inputs],
                                  [ren[o] for o in node.outputs], dict(node.attrs)))
        out.inputs += [ren[i] for i in g.inputs]
        out.outputs += [ren[o] for o in g.outputs]
    out.verify()
    return out
