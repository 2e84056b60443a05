"""What a report shows, as plain data: per-layer cost, the arena's tensors step by step, flash and RAM
against the board, and (with a float original) the quantization SNR per layer.

:func:`model_report` builds it for a TFLite/ONNX model, :func:`checkpoint_report` for a llama2.c checkpoint
(per-component cost of one decoding step). Both return a :class:`Report`; :mod:`tinyc.report.html` renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Layer:
    name: str  # the node (or transformer component)
    kernel: str
    macs: int
    weight_bytes: int
    arena_bytes: int  # output + scratch bytes in the arena (0 for outputs in the caller's buffers)
    instructions: int | None = None  # measured on the emulated board
    ms: float | None = None  # estimated from instructions, the board's CPI and clock


@dataclass
class Live:
    """One arena buffer: live from step ``first`` to ``last`` (inclusive) at ``offset``, ``size`` bytes."""

    name: str
    first: int
    last: int
    offset: int
    size: int


@dataclass
class Report:
    model: str
    board: Any  # tinyc.boards.Board
    layers: list[Layer]
    timeline: list[Live]
    arena_bytes: int
    flash: dict[str, int]  # part -> bytes (weights, code when measured)
    ram: dict[str, int]  # part -> bytes (arena, input/output, static/stack when measured)
    measured: bool  # flash/RAM are from the linked image (else what the library needs at least)
    snr: dict[str, float] = field(default_factory=dict)  # layer -> dB, with a float original
    instructions: int | None = None  # whole inference (or step), measured
    ms: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        doc = asdict(self)
        doc["board"] = {"id": self.board.id, "flash_bytes": self.board.flash_bytes,
                        "ram_bytes": self.board.ram_bytes, "clock_mhz": self.board.clock_mhz}
        return doc


def timeline(plan: Any) -> list[Live]:
    """The arena's buffers of a memory-planned plan, one per (offset, lifetime) group: tensors sharing
    bytes (views, in-place steps) are one rectangle, named after the first of them."""
    spans: dict[str, list[int]] = {}
    for i, step in enumerate(plan.steps):
        for name in step.inputs + step.outputs:
            span = spans.setdefault(name, [i, i])
            span[1] = i
        if step.scratch:
            spans[f"{step.node}:scratch"] = [i, i]
    groups: dict[tuple[int, int, int], Live] = {}
    for name, (first, last) in spans.items():
        buf = plan.buffers.get(name)
        if buf is None or buf.region != "arena":
            continue
        size = (plan.graph.tensor(name).nbytes if not name.endswith(":scratch")
                else next(s.scratch for s in plan.steps if f"{s.node}:scratch" == name))
        key = (buf.offset, first, last)
        if key in groups:
            groups[key].size = max(groups[key].size, size)
        else:
            groups[key] = Live(name, first, last, buf.offset, size)
    return sorted(groups.values(), key=lambda b: (b.first, b.offset))


def model_layers(plan: Any, report: dict[str, Any]) -> list[Layer]:
    """One Layer per step that runs code (reshape aliases run none), from the generated library's report."""
    layers = []
    for entry in report["layers"]:
        if entry.get("alias"):
            continue
        arena = (entry["output_bytes"] if entry["output_region"] == "arena" else 0) + entry["scratch_bytes"]
        layers.append(Layer(entry["node"], entry["kernel"], entry["macs"], entry["weight_bytes"], arena))
    return layers


def quantization_snr(plan: Any, original: Path, data: np.ndarray) -> dict[str, float]:
    """SNR in dB of each int8 step's dequantized output against the float original's tensor of the same
    name (or, when names differ, the float step of the same node), over all samples of ``data`` (float
    inputs of the original, or integers of the int8 model's input dtype, dequantized first). Per-channel
    quantized activations are skipped."""
    from tinyc.errors import InputError
    from tinyc.pipeline import build_plan
    from tinyc.runtime import run_plan

    float_plan = build_plan(original)
    graph, fgraph = plan.graph, float_plan.graph
    if len(graph.inputs) != 1 or len(fgraph.inputs) != 1:
        raise InputError(f"{original}: the SNR report takes single-input models")
    shape = tuple(fgraph.tensor(fgraph.inputs[0]).shape)
    qin = graph.tensor(graph.inputs[0])
    raw = np.asarray(data)
    # samples already quantized with the int8 model's input parameters (MLPerf's are) are dequantized first
    x = (dequantize(raw, qin) if raw.dtype == qin.np_dtype and raw.dtype.kind in "iu" else raw).astype(np.float32)
    if x.shape == shape:
        x = x[None]
    elif x.shape[1:] != shape and shape[:1] == (1,) and x.shape[1:] == shape[1:]:
        x = x[:, None]  # samples without the batch axis of 1
    if x.shape[1:] != shape:
        raise InputError(f"--data has shape {x.shape}; the original's input is {shape} (one sample or N stacked)")
    xq = quantize(x, qin)
    got = run_plan(plan, [xq], keep_all=True)
    want = run_plan(float_plan, [x], keep_all=True)
    by_node = {s.node: s.outputs[0] for s in float_plan.steps if s.outputs}
    snr = {}
    for step in plan.steps:
        if step.alias or not step.outputs:
            continue
        name = step.outputs[0]
        ref_name = name if name in want else by_node.get(step.node)
        t = graph.tensor(name)
        if ref_name not in want or t.quant is None or t.quant.per_channel or name not in got:
            continue
        ref = np.asarray(want[ref_name], dtype=np.float64)
        deq = dequantize(got[name], t)
        if deq.shape != ref.shape:
            continue
        noise = float(np.sum((ref - deq) ** 2))
        signal = float(np.sum(ref**2))
        snr[step.node] = float("inf") if noise == 0 else float(10 * np.log10(signal / noise)) if signal else 0.0
    return snr


def _qparams(tensor: Any) -> tuple[float, int]:
    return float(tensor.quant.scale[0]), int(tensor.quant.zero_point[0])


def quantize(x: np.ndarray, tensor: Any) -> np.ndarray:
    """Per-tensor affine quantization, round half to even as TFLite's converter."""
    scale, zp = _qparams(tensor)
    info = np.iinfo(tensor.np_dtype)
    return np.clip(np.round(x / scale) + zp, info.min, info.max).astype(tensor.np_dtype)


def dequantize(q: np.ndarray, tensor: Any) -> np.ndarray:
    scale, zp = _qparams(tensor)
    return (np.asarray(q, dtype=np.float64) - zp) * scale
