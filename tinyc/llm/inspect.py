"""`tinyc inspect` for a llama2.c checkpoint: its hyper-parameters, weights (shape, parameters, float32
bytes), MACs per token and what the generated C needs as f32 and int8 (flash weights, arena, KV cache)."""

from __future__ import annotations

from pathlib import Path

from tinyc.llm.checkpoint import load_checkpoint
from tinyc.llm.plan import lower
from tinyc.llm.quant import QuantScheme

MATMULS = ("wq", "wk", "wv", "wo", "w1", "w2", "w3")


def summarize_checkpoint(path: Path) -> dict:
    model = load_checkpoint(path)
    c = model.config
    weights = [{"name": k, "shape": list(w.shape), "params": int(w.size), "bytes": int(w.nbytes)}
               for k, w in model.weights.items()]
    # one token: every matrix row once (the classifier too), attention over the positions so far aside
    macs = sum(int(model.weights[k].size) for k in MATMULS) + int(model.wcls.size)
    memory = {}
    for quant in ("f32", "int8"):
        memory[quant] = lower(model, QuantScheme.named(quant), context=c.seq_len).memory_report()
    return {"model": Path(path).name, "format": "llama2.c checkpoint",
            "config": {"dim": c.dim, "hidden_dim": c.hidden_dim, "n_layers": c.n_layers, "n_heads": c.n_heads,
                       "n_kv_heads": c.n_kv_heads, "vocab_size": c.vocab_size, "seq_len": c.seq_len,
                       "shared_classifier": c.shared_classifier},
            "params": model.n_params, "bytes": sum(w["bytes"] for w in weights),
            "macs_per_token": macs, "weights": weights, "memory": memory}


def render_checkpoint(s: dict) -> str:
    c = s["config"]
    lines = [f"{s['model']}: {s['format']}",
             f"  dim {c['dim']}, hidden {c['hidden_dim']}, {c['n_layers']} layers, {c['n_heads']} heads "
             f"({c['n_kv_heads']} kv), vocab {c['vocab_size']}, seq_len {c['seq_len']}, "
             f"{'shared' if c['shared_classifier'] else 'separate'} classifier",
             f"  {s['params']:,} parameters, {s['bytes']:,} bytes (float32); "
             f"{s['macs_per_token']:,} MACs per token besides attention", ""]
    width = max(len(w["name"]) for w in s["weights"])
    lines.append(f"  {'weight'.ljust(width)}  {'shape':<16} {'params':>10} {'bytes':>10}")
    for w in s["weights"]:
        shape = "x".join(map(str, w["shape"]))
        lines.append(f"  {w['name'].ljust(width)}  {shape:<16} {w['params']:>10,} {w['bytes']:>10,}")
    lines.append("")
    lines.append(f"  generated C, context {c['seq_len']}:")
    for quant, m in s["memory"].items():
        lines.append(f"    {quant:<5} {m['weights_bytes']:>10,} bytes of weights, {m['arena_bytes']:>9,} bytes of "
                     f"arena (KV cache {m['kv_cache_bytes']:,})")
    return "\n".join(lines)
