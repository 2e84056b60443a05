"""Plan -> the text of every file of the generated C library (nothing is written here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinyc
from tinyc.codegen.cformat import c_comment, c_identifier, c_initializer, c_type
from tinyc.codegen.kernels import (
    PATHS,
    Call,
    KernelSet,
    buffer_pointer,
    emitted_consts,
    io_arg,
    step_calls,
)
from tinyc.codegen.render import c_scalar, environment
from tinyc.errors import TinycError
from tinyc.ir import Graph
from tinyc.lower.plan import Buffer, Plan


@dataclass
class IOTensor:
    """A graph input or output as the C API sees it."""

    name: str  # graph tensor name
    arg: str  # C parameter name: input / input0 ...
    macro: str  # macro prefix: MODEL_INPUT / MODEL_INPUT0 ...
    ctype: str
    dtype: str
    shape: tuple[int, ...]
    elements: int
    nbytes: int
    scale: float | None
    zero_point: int | None


@dataclass
class WeightArray:
    name: str
    node: str  # the step's node name (model text: printed through c_comment)
    ctype: str
    length: int
    nbytes: int
    body: str
    alias: str = ""  # the earlier array with the same type and bytes that this name refers to


def io_tensors(graph: Graph, kind: str, names: list[str], model_macro: str) -> list[IOTensor]:
    out = []
    for k, name in enumerate(names):
        t = graph.tensor(name)
        q = t.quant
        suffix = kind.upper() if len(names) == 1 else f"{kind.upper()}{k}"
        out.append(IOTensor(name, io_arg(kind, k, len(names)), f"{model_macro}_{suffix}", c_type(t.dtype),
                            t.dtype, t.shape, t.size, t.nbytes, q.s if q is not None else None,
                            q.zp if q is not None else None))
    return out


def step_ids(plan: Plan) -> list[str]:
    """A unique C identifier per step: its position (`s0`, `s1`, ...), never its node's name, so no model text
    reaches the C outside c_comment."""
    return [f"s{k}" for k in range(len(plan.steps))]


def weight_arrays(plan: Plan, ids: list[str]) -> list[WeightArray]:
    """Every step's constant arrays; one that repeats an earlier array byte for byte (the weights of an unrolled
    recurrent layer, read at every time step) is emitted as an alias of it, so it is in flash once."""
    arrays = []
    seen: dict[tuple[str, int, bytes], str] = {}
    for step, sid in zip(plan.steps, ids, strict=True):
        for key, arr in emitted_consts(step).items():
            arr = np.ascontiguousarray(arr)
            name, ctype = f"tinyc_w_{sid}_{c_identifier(key)}", c_type(arr.dtype)
            first = seen.setdefault((ctype, arr.size, arr.tobytes()), name)
            if first != name:
                arrays.append(WeightArray(name, step.node, ctype, max(arr.size, 1), 0, "", alias=first))
                continue
            arrays.append(WeightArray(name, step.node, ctype, max(arr.size, 1), arr.nbytes, c_initializer(arr)))
    return arrays


def io_copies(plan: Plan, inputs: list[IOTensor], outputs: list[IOTensor]) -> tuple[list[Call], list[Call]]:
    """Copies for graph inputs/outputs whose planned buffer is not the caller's own (identity graphs)."""
    n_in, n_out = len(inputs), len(outputs)
    pre, post = [], []
    for k, io in enumerate(inputs):
        buf = plan.buffers.get(io.name)
        if buf is not None and buf != Buffer("input", index=k):
            dst = buffer_pointer(buf, io.ctype, n_in, n_out)
            pre.append(Call(f"memcpy({dst}, {io.arg}, {io.nbytes});", f"input '{c_comment(io.name)}' lives elsewhere"))
    for k, io in enumerate(outputs):
        buf = plan.buffers.get(io.name)
        if buf is None:
            raise TinycError(f"graph output '{io.name}' has no planned buffer (run plan_memory first)")
        if buf != Buffer("output", index=k):
            src = buffer_pointer(buf, io.ctype, n_in, n_out)
            post.append(Call(f"memcpy({io.arg}, {src}, {io.nbytes});", f"output '{c_comment(io.name)}'"))
    return pre, post


def render_library(plan: Plan, name: str, board: Any = None) -> tuple[dict[str, str], dict]:
    """All files of the library as text, and the facts the report needs."""
    env = environment()
    graph = plan.graph
    macro = name.upper()
    inputs = io_tensors(graph, "input", graph.inputs, macro)
    outputs = io_tensors(graph, "output", graph.outputs, macro)
    ids = step_ids(plan)
    weights = weight_arrays(plan, ids)
    kernels = KernelSet(env, plan)
    calls: list[Call] = []
    functions: list[str | None] = []
    for step, sid in zip(plan.steps, ids, strict=True):
        step_code, fn = step_calls(kernels, step, sid)
        calls += step_code
        functions.append(fn)
    pre, post = io_copies(plan, inputs, outputs)
    states = state_fills(plan)
    facts = {
        "name": name,
        "macro": macro,
        "version": tinyc.__version__,
        "source": graph.source or graph.name,
        "board": board_id(board),
        "inputs": inputs,
        "outputs": outputs,
        "arena_size": plan.arena_size,
        "scratch_size": scratch_size(kernels, board),
        "scratch_paths": {path: kernels.static_scratch_paths.get(path, 0) for path in PATHS},
        "macs": sum(s.macs for s in plan.steps),
        "weight_bytes": sum(w.nbytes for w in weights) + sum(s.elements for s in states if s.array),
        "n_steps": len(plan.steps),
        "uses_memcpy": any("memcpy" in c.code for c in calls + pre + post),
        "state_size": plan.state_size,
        "states": states,
    }
    files = {
        f"{name}.h": env.get_template("model.h.j2").render(facts),
        f"{name}.c": env.get_template("model.c.j2").render(
            facts | {"weights": weights, "kernels": kernels.sources, "calls": calls, "pre": pre,
                     "post": post}),
        "tinyc_fixedpoint.h": env.get_template("tinyc_fixedpoint.h.j2").render(facts),
        "CMakeLists.txt": env.get_template("CMakeLists.txt.j2").render(facts),
        "library.json": library_json(name, f"{graph.name or name}: neural network compiled to C99 by tinyc (no heap)"),
    }
    return files, facts | {"functions": functions}


@dataclass
class StateFill:
    """What `<name>_reset()` writes into one persistent buffer: one value into every element, or the bytes of
    `array` (a resource variable's initial values, not all one value or a NaN) into every byte."""

    pointer: str  # C expression of its first element
    ctype: str
    elements: int
    init: str  # C literal of the one value
    node: str  # the step's node name (model text: printed through c_comment)
    array: str | None = None  # the static const uint8_t array of initial bytes
    body: str = ""  # its initialiser


def state_fills(plan: Plan) -> list[StateFill]:
    n_in, n_out = len(plan.graph.inputs), len(plan.graph.outputs)
    fills: list[StateFill] = []
    seen: set[str] = set()
    for step in plan.steps:
        for st in step.state:
            if st.name in seen:  # the steps of one resource variable share its buffer
                continue
            seen.add(st.name)
            buf = plan.buffers[st.name]
            flat = np.ascontiguousarray(np.broadcast_to(np.asarray(st.init, st.dtype), st.shape)).reshape(-1)
            bits = flat.view(f"u{flat.itemsize}")
            if np.all(bits == bits[0]) and not (flat.dtype.kind == "f" and np.isnan(flat[0])):
                ctype = c_type(st.dtype)
                fills.append(StateFill(buffer_pointer(buf, ctype, n_in, n_out), ctype, flat.size,
                                       c_scalar(flat[0].item()), step.node))
            else:
                raw = flat.view(np.uint8)
                fills.append(StateFill(buffer_pointer(buf, "uint8_t", n_in, n_out), "uint8_t", raw.size, "",
                                       step.node, f"tinyc_state_init{len(fills)}", c_initializer(raw)))
    return fills


def scratch_size(kernels: KernelSet, board: Any) -> int:
    """Bytes of the static scratch buffer: on a board, those of the kernel path its core takes (its
    `kernels` set); without one (host builds may emulate any path), the largest."""
    path = {"mve": "mve", "dsp": "dsp", "generic": "c"}.get(getattr(board, "kernels", None) or "")
    if path == "c" and getattr(board, "arch", None) == "riscv":
        path = "rv"
    if path is None:
        return kernels.static_scratch
    return kernels.static_scratch_paths.get(path, 0)


def board_id(board: Any) -> str | None:
    if board is None:
        return None
    for attr in ("id", "name"):
        value = getattr(board, attr, None)
        if isinstance(value, str):
            return value
    return str(board)


def library_json(name: str, description: str, sources: str = "*.c") -> str:
    """PlatformIO library manifest: the folder is the library (its `sources`); C99, no FMA contraction."""
    doc = {
        "name": name,
        "version": tinyc.__version__,
        "description": description,
        "keywords": ["tinyc", "neural-network", "tinyml"],
        "frameworks": "*",
        "platforms": "*",
        "build": {
            "srcDir": ".",
            "includeDir": ".",
            "srcFilter": [f"+<{sources}>"],
            "flags": ["-std=c99", "-ffp-contract=off"],
            "unflags": ["-std=gnu99", "-std=gnu11", "-std=gnu17", "-std=c11", "-std=c17"],
        },
        "export": {"include": ["*.c", "*.h", "library.json", "CMakeLists.txt", "report.json"]},
    }
    return json.dumps(doc, indent=2) + "\n"
