"""The pruning report: sparsity per layer, what a sparse kernel could skip, and the accuracy it costs."""

from __future__ import annotations

import math

from tinyc.ir import Graph
from tinyc.prune.prune import LayerSparsity
from tinyc.prune.sensitivity import Comparison, Table


def weight_bytes(graph: Graph) -> int:
    """Bytes of constant data (weights, biases, requantization) the generated C holds for the graph,
    as report.json's weight_bytes: sparse int8 weights in their compact encoding."""
    from tinyc.codegen.kernels import emitted_consts
    from tinyc.lower import lower

    return int(sum(a.nbytes for step in lower(graph).steps for a in emitted_consts(step).values()))


def to_json(model: str, layers: list[LayerSparsity], settings: dict, comparison: Comparison | None,
            table: Table | None) -> dict:
    params, zeros = sum(x.params for x in layers), sum(x.zeros for x in layers)
    doc: dict = {"model": model, "settings": settings, "params": params, "zeros": zeros,
                 "sparsity": zeros / params if params else 0.0,
                 "macs": sum(x.macs for x in layers),
                 "macs_on_zero_weights": int(sum(x.macs * x.sparsity for x in layers)),
                 "layers": [{"node": x.node, "op": x.op, "params": x.params, "zeros": x.zeros,
                             "sparsity": x.sparsity, "channels": x.channels, "zero_channels": x.zero_channels}
                            for x in layers]}
    if comparison is not None:
        snr = comparison.output_snr_db
        doc["evaluation"] = {"samples": comparison.samples,
                             "output_snr_db": snr if math.isfinite(snr) else None,
                             "top1_agree": comparison.top1_agree}
    if table is not None:
        doc["sensitivity"] = {node: {str(s): (v if math.isfinite(v) else None) for s, v in row.items()}
                              for node, row in table.items()}
    return doc


def render(doc: dict) -> str:
    lines = [f"# Pruning report: {doc['model']}", ""]
    lines += [f"- {k}: {v}" for k, v in doc["settings"].items()]
    lines += [f"- prunable weights: {doc['params']:,}, zero: {doc['zeros']:,} ({100 * doc['sparsity']:.1f}%)",
              f"- MACs of these layers: {doc['macs']:,}, of which on zero weights: "
              f"{doc['macs_on_zero_weights']:,} (int8 sparse kernels skip them where "
              "their compact encoding is used)"]
    wb = doc.get("weight_bytes")
    if wb is not None:
        saved = 1 - wb["after"] / wb["before"] if wb["before"] else 0.0
        lines.append(f"- weights in the generated C: {wb['before']:,} -> {wb['after']:,} bytes "
                     f"({100 * saved:.1f}% saved: int8 zeros stored compactly, removed channels not at all)")
    ev = doc.get("evaluation")
    if ev is not None:
        snr = "inf" if ev["output_snr_db"] is None else f"{ev['output_snr_db']:.2f}"
        lines.append(f"- output SNR vs the unpruned model: {snr} dB on {ev['samples']} samples")
        if ev["top1_agree"] is not None:
            lines.append(f"- top-1 agreement with the unpruned model: {ev['top1_agree']}/{ev['samples']} "
                         f"({100 * ev['top1_agree'] / ev['samples']:.2f}%)")
    lines += ["", "| # | node | op | weights | zero | sparsity | zero channels |",
              "|---:|---|---|---:|---:|---:|---:|"]
    lines += [f"| {i} | {x['node']} | {x['op']} | {x['params']:,} | {x['zeros']:,} | "
              f"{100 * x['sparsity']:.1f}% | {x['zero_channels']}/{x['channels']} |"
              for i, x in enumerate(doc["layers"])]
    table = doc.get("sensitivity")
    if table:
        levels = list(next(iter(table.values())))
        lines += ["", "Sensitivity: output SNR (dB) with only this layer pruned to each sparsity", "",
                  "| node | " + " | ".join(f"{float(s):.0%}" for s in levels) + " |",
                  "|---|" + "---:|" * len(levels)]
        for node, row in table.items():
            cells = ["inf" if v is None else f"{v:.1f}" for v in row.values()]
            lines.append(f"| {node} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
