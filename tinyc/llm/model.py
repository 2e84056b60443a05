"""The decoder's model description (the LLM stage's IR): hyper-parameters plus named float32 weights.

A frontend (llama2.c checkpoint, later a PyTorch module) produces a `LlamaModel`; `tinyc.llm.quant` and
`tinyc.llm.plan` consume it. Weight names and shapes (row-major, output dimension first, as in llama2.c):

    tok_emb [vocab, dim]            rms_att [L, dim]        rms_ffn [L, dim]      rms_final [dim]
    wq [L, dim, dim]   wk [L, kv_dim, dim]   wv [L, kv_dim, dim]   wo [L, dim, dim]
    w1 [L, hidden, dim]   w2 [L, dim, hidden]   w3 [L, hidden, dim]   wcls [vocab, dim] (absent when shared)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BOS = 1  # llama2.c / sentencepiece: token 1 starts (and delimits) a sequence
EOS = 2


@dataclass(frozen=True)
class LlamaConfig:
    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    seq_len: int
    shared_classifier: bool = True

    @property
    def head_size(self) -> int:
        return self.dim // self.n_heads

    @property
    def kv_dim(self) -> int:
        return self.head_size * self.n_kv_heads

    @property
    def kv_mul(self) -> int:
        return self.n_heads // self.n_kv_heads

    def describe(self) -> str:
        return (f"dim {self.dim}, hidden {self.hidden_dim}, layers {self.n_layers}, heads {self.n_heads}, "
                f"kv heads {self.n_kv_heads}, vocab {self.vocab_size}, seq_len {self.seq_len}, "
                f"{'shared' if self.shared_classifier else 'separate'} classifier")

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        c, L = self, self.n_layers
        shapes = {
            "tok_emb": (c.vocab_size, c.dim), "rms_att": (L, c.dim),
            "wq": (L, c.dim, c.dim), "wk": (L, c.kv_dim, c.dim), "wv": (L, c.kv_dim, c.dim),
            "wo": (L, c.dim, c.dim), "rms_ffn": (L, c.dim),
            "w1": (L, c.hidden_dim, c.dim), "w2": (L, c.dim, c.hidden_dim), "w3": (L, c.hidden_dim, c.dim),
            "rms_final": (c.dim,),
        }
        if not c.shared_classifier:
            shapes["wcls"] = (c.vocab_size, c.dim)
        return shapes


@dataclass
class LlamaModel:
    config: LlamaConfig
    weights: dict[str, np.ndarray] = field(repr=False)  # float32, shapes as in LlamaConfig.weight_shapes
    source: str = ""  # the file it came from, for messages

    @property
    def wcls(self) -> np.ndarray:
        return self.weights["tok_emb"] if self.config.shared_classifier else self.weights["wcls"]

    @property
    def n_params(self) -> int:
        return sum(int(w.size) for w in self.weights.values())
