"""Lowering: model + quantization scheme + context length -> LlmPlan.

The plan holds everything the reference runtime and the C generator share: the constant tables that go to
flash (quantized weights, scales, RoPE cos/sin), their C names (`tinyc_w_<name>`), and the static arena
layout (KV cache, activations, sampler scratch) with its exact size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyc.codegen.cformat import model_name_problem
from tinyc.errors import InputError
from tinyc.llm.mathf import rope_tables
from tinyc.llm.model import LlamaConfig, LlamaModel
from tinyc.llm.quant import QuantScheme, n_groups, quantize_weight

F = np.float32
MATRICES = ("wq", "wk", "wv", "wo", "w1", "w2", "w3")
ITEM_BYTES = {"f": 4, "q": 1, "w": 4, "idx": 2}


@dataclass
class Buffer:
    region: str  # "f" (float), "q" (int8), "w" (int32), "idx" (int16): one typed array each in the arena
    offset: int  # in elements of the region's type
    count: int


@dataclass
class LlmPlan:
    name: str
    config: LlamaConfig
    scheme: QuantScheme
    context: int  # positions the KV cache holds (<= config.seq_len)
    consts: dict[str, np.ndarray] = field(repr=False)  # C name tinyc_w_<key>; flash
    buffers: dict[str, Buffer] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)  # region -> element count
    source: str = ""

    @property
    def int8(self) -> bool:
        return self.scheme.weights == "int8"

    @property
    def kv_int8(self) -> bool:
        return self.scheme.kv == "int8"

    @property
    def group(self) -> int:
        return self.scheme.group_size

    @property
    def kv_group(self) -> int:
        return self.scheme.kv_group or self.config.kv_dim

    @property
    def weight_bytes(self) -> int:
        return sum(int(a.nbytes) for a in self.consts.values())

    @property
    def arena_bytes(self) -> int:
        return sum(ITEM_BYTES[r] * n for r, n in self.regions.items())

    def memory_report(self) -> dict[str, int]:
        kv = {k: v for k, v in self.buffers.items() if k.startswith(("key_", "value_"))}
        kv_bytes = sum(ITEM_BYTES[b.region] * b.count for b in kv.values())
        return {"weights_bytes": self.weight_bytes, "arena_bytes": self.arena_bytes,
                "kv_cache_bytes": kv_bytes, "context": self.context}


def lower(model: LlamaModel, scheme: QuantScheme | None = None, context: int | None = None,
          name: str = "model") -> LlmPlan:
    scheme = scheme or QuantScheme()
    c = model.config
    context = c.seq_len if context is None else int(context)
    if not 0 < context <= c.seq_len:
        raise InputError(f"context {context} outside 1..{c.seq_len} (the checkpoint's seq_len)")
    problem = model_name_problem(name, harness=False)
    if problem is not None:
        raise InputError(f"model name {name[:60]!r} {problem}")
    if scheme.kv == "int8":
        g = scheme.kv_group or c.kv_dim
        if g % c.head_size or c.kv_dim % g:
            raise InputError(f"kv_group {g} must be a multiple of the head size {c.head_size} and divide "
                             f"kv_dim {c.kv_dim}")
    w = model.weights
    consts: dict[str, np.ndarray] = {}
    emb_keys = ["tok_emb"] + ([] if c.shared_classifier else ["wcls"])
    for key in emb_keys + list(MATRICES):
        if scheme.weights == "int8":
            consts[f"{key}_q"], consts[f"{key}_s"] = quantize_weight(w[key], scheme.group_size)
        else:
            consts[key] = w[key].astype(F)
    for key in ("rms_att", "rms_ffn", "rms_final"):
        consts[key] = w[key].astype(F)
    consts["rope_cos"], consts["rope_sin"] = rope_tables(context, c.head_size)
    plan = LlmPlan(name=name, config=c, scheme=scheme, context=context, consts=consts, source=model.source)
    _layout(plan)
    return plan


def _layout(plan: LlmPlan) -> None:
    c, ctx = plan.config, plan.context
    regions = {"f": 0, "q": 0, "w": 0, "idx": 0}

    def add(name: str, region: str, count: int) -> None:
        align = {"f": 1, "q": 4, "w": 1, "idx": 2}[region]  # keep int8 rows word-aligned for 32-bit loads
        off = -(-regions[region] // align) * align
        plan.buffers[name] = Buffer(region, off, count)
        regions[region] = off + count

    for key, n in (("x", c.dim), ("xb", c.dim), ("xb2", c.dim), ("q", c.dim), ("hb", c.hidden_dim),
                   ("hb2", c.hidden_dim), ("att", ctx), ("logits", c.vocab_size)):
        add(key, "f", n)
    cache = c.n_layers * ctx * c.kv_dim
    if plan.kv_int8:
        add("k", "f", c.kv_dim)
        add("v", "f", c.kv_dim)
        scales = c.n_layers * ctx * (c.kv_dim // plan.kv_group)
        add("key_s", "f", scales)
        add("value_s", "f", scales)
        add("key_q", "q", cache)
        add("value_q", "q", cache)
        add("qq", "q", c.dim)  # the query as int8, one scale per head
        add("qs", "f", c.n_heads)
    else:
        add("key_cache", "f", cache)
        add("value_cache", "f", cache)
    if plan.int8:
        width = max(c.dim, c.hidden_dim)
        add("xs", "f", n_groups(width, plan.group))
        add("xq", "q", width)
        add("xe", "w", width // 2)  # int16 pairs of xq for the Arm DSP dot product
    add("probidx", "idx" if c.vocab_size <= 32767 else "w", c.vocab_size)  # token ids for top-p sorting
    # each region a whole number of 32-bit words: then the arena struct has no padding
    plan.regions = {r: -(-n * ITEM_BYTES[r] // 4) * 4 // ITEM_BYTES[r] for r, n in regions.items() if n}
