"""Reference runtime: executes an LlmPlan in NumPy float32 with exactly the C's operations and order."""

from __future__ import annotations

import numpy as np

from tinyc.errors import InputError
from tinyc.llm import mathf as m
from tinyc.llm.plan import LlmPlan

F = np.float32


class Decoder:
    """One sequence's state (the KV cache) and `forward(token, pos) -> logits`, computed as the C does."""

    def __init__(self, plan: LlmPlan):
        self.plan = plan
        c = plan.config
        self.c = c
        self.sqrt_hs = np.sqrt(F(c.head_size))
        shape = (c.n_layers, plan.context, c.kv_dim)
        if plan.kv_int8:
            ng = c.kv_dim // plan.kv_group
            self.key_q = np.zeros(shape, np.int8)
            self.value_q = np.zeros(shape, np.int8)
            self.key_s = np.zeros((*shape[:2], ng), F)
            self.value_s = np.zeros((*shape[:2], ng), F)
        else:
            self.key = np.zeros(shape, F)
            self.value = np.zeros(shape, F)
        self.head2kv = np.arange(c.n_heads) // c.kv_mul
        self.wmax = m.value_weight_max(plan.context)

    # -- pieces -----------------------------------------------------------------------------------------
    def _embed(self, token: int) -> np.ndarray:
        k = self.plan.consts
        if self.plan.int8:
            q, s = k["tok_emb_q"][token], k["tok_emb_s"][token]
            return q.astype(F) * np.repeat(s, self.plan.group)[: q.size]
        return k["tok_emb"][token].copy()

    def _quant(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        return m.quantize_groups(x, self.plan.group) if self.plan.int8 else x

    def _mv(self, key: str, layer: int | None, xin: tuple[np.ndarray, np.ndarray] | np.ndarray) -> np.ndarray:
        k = self.plan.consts
        if self.plan.int8:
            wq, ws = k[f"{key}_q"], k[f"{key}_s"]
            if layer is not None:
                wq, ws = wq[layer], ws[layer]
            xq, xs = xin
            return m.matvec_q8(wq, ws, xq, xs, self.plan.group)
        w = k[key] if layer is None else k[key][layer]
        return m.matvec(w, xin)

    def _store_kv(self, layer: int, pos: int, key: np.ndarray, value: np.ndarray) -> None:
        if self.plan.kv_int8:
            self.key_q[layer, pos], self.key_s[layer, pos] = m.quantize_groups(key, self.plan.kv_group)
            self.value_q[layer, pos], self.value_s[layer, pos] = m.quantize_groups(value, self.plan.kv_group)
        else:
            self.key[layer, pos] = key
            self.value[layer, pos] = value

    def _attention(self, layer: int, pos: int, q: np.ndarray) -> np.ndarray:
        c, T = self.c, pos + 1
        hs, kvh = c.head_size, self.head2kv
        qh = q.reshape(c.n_heads, 1, hs)
        if self.plan.kv_int8:
            grp = (kvh * hs) // self.plan.kv_group  # scale index of each head's slice
            qq, qs = m.quantize_groups(q, hs)
            kq = self.key_q[layer, :T].reshape(T, c.n_kv_heads, hs)[:, kvh, :].transpose(1, 0, 2)
            vq = self.value_q[layer, :T].reshape(T, c.n_kv_heads, hs)[:, kvh, :].transpose(1, 0, 2)
            vs = self.value_s[layer, :T]
            out = m.attention_q8(qq.reshape(c.n_heads, hs), qs, kq, self.key_s[layer, :T][:, grp].T, vq,
                                 vs[:, grp].T, np.max(vs, axis=0)[grp], self.sqrt_hs, self.wmax)
        else:
            kf = self.key[layer, :T].reshape(T, c.n_kv_heads, hs)[:, kvh, :].transpose(1, 0, 2)
            att = m.softmax(m.seqsum(qh * kf) / self.sqrt_hs)
            vf = self.value[layer, :T].reshape(T, c.n_kv_heads, hs)[:, kvh, :].transpose(1, 0, 2)
            out = m.seqsum(att[:, :, None] * vf, axis=1)
        return out.reshape(-1)

    # -- the step ---------------------------------------------------------------------------------------
    def forward(self, token: int, pos: int) -> np.ndarray:
        c, k = self.c, self.plan.consts
        if not 0 <= token < c.vocab_size:
            raise InputError(f"token {token} outside the vocabulary 0..{c.vocab_size - 1}")
        if not 0 <= pos < self.plan.context:
            raise InputError(f"position {pos} outside the context 0..{self.plan.context - 1}")
        cos, sin = k["rope_cos"][pos], k["rope_sin"][pos]
        x = self._embed(token)
        for layer in range(c.n_layers):
            xin = self._quant(m.rmsnorm(x, k["rms_att"][layer]))
            q = self._mv("wq", layer, xin)
            key = self._mv("wk", layer, xin)
            value = self._mv("wv", layer, xin)
            q = m.rope(q.reshape(c.n_heads, -1), cos, sin).reshape(-1)
            key = m.rope(key.reshape(c.n_kv_heads, -1), cos, sin).reshape(-1)
            self._store_kv(layer, pos, key, value)
            xb = self._attention(layer, pos, q)
            x = x + self._mv("wo", layer, self._quant(xb))
            xin = self._quant(m.rmsnorm(x, k["rms_ffn"][layer]))
            hb = m.silu_mul(self._mv("w1", layer, xin), self._mv("w3", layer, xin))
            x = x + self._mv("w2", layer, self._quant(hb))
        x = m.rmsnorm(x, k["rms_final"])
        return self._mv("wcls" if "wcls" in k or "wcls_q" in k else "tok_emb", None, self._quant(x))
