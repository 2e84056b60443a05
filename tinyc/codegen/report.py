"""report.json: per-layer cost and placement, and the totals of the generated library."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyc.codegen.kernels import emitted_consts
from tinyc.lower.plan import Plan


def build_report(plan: Plan, facts: dict[str, Any], files: list[str]) -> dict[str, Any]:
    graph = plan.graph
    layers = []
    for step, fn in zip(plan.steps, facts["functions"], strict=True):
        out = step.outputs[0] if step.outputs else None  # ASSIGN_VARIABLE writes its variable's state only
        buf = plan.buffers.get(out) if out else plan.buffers.get(step.state[0].name)
        layers.append({
            "node": step.node,
            "kernel": step.kernel,
            "function": fn,
            "macs": int(step.macs),
            "weight_bytes": int(sum(np.asarray(a).nbytes for a in emitted_consts(step).values())),
            "output_bytes": graph.tensor(out).nbytes if out else 0,
            "output_region": buf.region if buf else None,
            "arena_offset": buf.offset if buf and buf.region == "arena" else None,
            "scratch_bytes": int(step.scratch),
            "alias": bool(step.alias),
            "in_place": bool(step.inplace),  # its output shares bytes with an input it overwrites
        })
    return {
        "generator": f"tinyc {facts['version']}",
        "name": facts["name"],
        "source": facts["source"],
        "board": facts["board"],
        "files": sorted(files + ["report.json"]),
        "inputs": [io_entry(t) for t in facts["inputs"]],
        "outputs": [io_entry(t) for t in facts["outputs"]],
        "layers": layers,
        "totals": {
            "steps": len(plan.steps),
            "kernel_functions": len({fn for fn in facts["functions"] if fn}),
            "macs": int(facts["macs"]),
            "weight_bytes": int(facts["weight_bytes"]),
            "arena_bytes": int(plan.arena_size),
            # what no placement of the plan's buffers in its step order can beat (tinyc.memory.lower_bound)
            "arena_lower_bound": int(plan.lower_bound),
            "arena_above_lower_bound": int(plan.arena_size - plan.lower_bound),
            # the first layers in row bands (tinyc.memory.patch), or null
            "patch": plan.patch.to_json() if plan.patch is not None else None,
            "scratch_bytes": int(facts["scratch_size"]),
            "ram_bytes": int(plan.arena_size) + int(facts["scratch_size"]),
            "input_bytes": sum(t.nbytes for t in facts["inputs"]),
            "output_bytes": sum(t.nbytes for t in facts["outputs"]),
        },
    }


def io_entry(t: Any) -> dict[str, Any]:
    return {"name": t.name, "dtype": t.dtype, "shape": list(t.shape), "bytes": t.nbytes,
            "scale": t.scale, "zero_point": t.zero_point}
