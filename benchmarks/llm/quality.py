"""Quality of the int8 modes against float32 on stories260K (reference runtime; the C is bit-identical).

For each mode: perplexity of the float model's own greedy text (teacher-forced), teacher-forced top-1
agreement with that text, and free-running greedy token agreement with float from BOS.

    PYTHONPATH=. python benchmarks/llm/quality.py [--steps 256] [--out benchmarks/llm/quality.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tinyc.llm import BOS, Decoder, QuantScheme, Sampler, generate, load_checkpoint, lower
from tinyc.llm.quality import perplexity_and_agreement

MODELS = Path(__file__).resolve().parents[3] / "shared" / "models" / "llm"
MODES = [
    ("f32", QuantScheme.named("f32")),
    ("f32 weights, int8 KV (32/scale)", QuantScheme(kv="int8")),
    ("f32 weights, int8 KV (8/scale)", QuantScheme(kv="int8", kv_group=8)),
    ("int8 g64 (64+64+44), f32 KV", QuantScheme(weights="int8", group_size=64)),
    ("int8 g32, f32 KV", QuantScheme(weights="int8", group_size=32)),
    ("int8 g16, f32 KV", QuantScheme(weights="int8", group_size=16)),
    ("int8 g64, int8 KV (32/scale) [default int8]", QuantScheme.named("int8")),
    ("int8 g64, int8 KV (8/scale)", QuantScheme.named("int8", kv_group=8)),
    ("int8 g32, int8 KV (32/scale)", QuantScheme.named("int8", group_size=32)),
    ("int8 g16, int8 KV (8/scale)", QuantScheme.named("int8", group_size=16, kv_group=8)),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    model = load_checkpoint(MODELS / "stories260K.bin")
    ref_plan = lower(model, QuantScheme.named("f32"), context=args.steps)
    ref = generate(Decoder(ref_plan).forward, [BOS], args.steps, Sampler(512))
    rows = ["| mode | weights bytes | KV cache bytes | PPL of float's greedy text "
            "| teacher-forced top-1 agree | free-running greedy agree |", "|---|---:|---:|---:|---:|---:|"]
    for label, scheme in MODES:
        plan = lower(model, scheme, context=args.steps)
        ppl, tf = perplexity_and_agreement(plan, ref)
        ids = generate(Decoder(plan).forward, [BOS], args.steps, Sampler(512))
        n = min(len(ids), len(ref))
        first = next((i for i in range(n) if ids[i] != ref[i]), n)
        free = sum(a == b for a, b in zip(ids[1:], ref[1:], strict=False)) / (len(ref) - 1)
        mem = plan.memory_report()
        rows.append(f"| {label} | {plan.weight_bytes:,} | {mem['kv_cache_bytes']:,} | {ppl:.4f} | {tf:.1%} | "
                    f"{free:.1%} (first divergence at step {first}) |")
        print(rows[-1], flush=True)
    text = (f"stories260K, {args.steps} steps, float greedy text from BOS; KV cache bytes at context "
            f"{args.steps}.\n\n" + "\n".join(rows) + "\n")
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
