"""`tinyc inspect`: per-node table of ops, shapes, dtypes, quantization, MACs and parameter bytes."""

from __future__ import annotations

from tinyc.ir import Graph, Tensor
from tinyc.ops import REGISTRY


def _shape(t: Tensor) -> str:
    return "x".join(map(str, t.shape))


def _quant(t: Tensor) -> str:
    if t.quant is None:
        return "-"
    q = t.quant
    if q.per_channel:
        return f"per-ch[{q.scale.size}] axis {q.axis}"
    return f"s={q.s:.6g} zp={q.zp}"


def summarize(graph: Graph) -> dict:
    rows = []
    for node in graph.nodes:
        acts = [graph.tensor(n) for n in node.inputs if n and not graph.tensor(n).is_const]
        consts = [graph.tensor(n) for n in node.inputs if n and graph.tensor(n).is_const]
        out = graph.tensor(node.outputs[0] if node.outputs else node.inputs[0])  # ASSIGN_VARIABLE: what it stores
        rows.append({
            "node": node.name, "op": node.op,
            "inputs": [_shape(t) for t in acts], "output": _shape(out), "dtype": out.dtype,
            "quant": _quant(out), "weights": [f"{t.dtype}[{_shape(t)}] {_quant(t)}" for t in consts],
            "macs": REGISTRY[node.op].macs(node, graph), "param_bytes": sum(t.nbytes for t in consts),
        })
    ins = [graph.tensor(n) for n in graph.inputs]
    outs = [graph.tensor(n) for n in graph.outputs]
    return {
        "model": graph.name, "source": graph.source,
        "inputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "quant": _quant(t)} for t in ins],
        "outputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "quant": _quant(t)} for t in outs],
        "nodes": rows,
        "totals": {"nodes": len(rows), "macs": sum(r["macs"] for r in rows),
                   "param_bytes": sum(r["param_bytes"] for r in rows)},
    }


def render_table(summary: dict) -> str:
    head = ("#", "node", "op", "input", "output", "dtype", "output quant", "MACs", "param bytes")
    body = [(str(i), r["node"], r["op"], ",".join(r["inputs"]), r["output"], r["dtype"], r["quant"],
             f"{r['macs']:,}", f"{r['param_bytes']:,}") for i, r in enumerate(summary["nodes"])]
    tot = summary["totals"]
    body.append(("", "total", "", "", "", "", "", f"{tot['macs']:,}", f"{tot['param_bytes']:,}"))
    widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]
    right = {0, 7, 8}

    def fmt(row: tuple) -> str:
        cells = enumerate(zip(row, widths, strict=True))
        return "  ".join(v.rjust(w) if c in right else v.ljust(w) for c, (v, w) in cells)

    lines = [f"{summary['model']}  ({summary['source']})"]
    lines += [f"  input  {t['name']}: {t['dtype']}[{'x'.join(map(str, t['shape']))}] {t['quant']}"
              for t in summary["inputs"]]
    lines += [f"  output {t['name']}: {t['dtype']}[{'x'.join(map(str, t['shape']))}] {t['quant']}"
              for t in summary["outputs"]]
    lines += ["", fmt(head), fmt(tuple("-" * w for w in widths)), *map(fmt, body[:-1]),
              fmt(tuple("-" * w for w in widths)), fmt(body[-1])]
    return "\n".join(lines)
