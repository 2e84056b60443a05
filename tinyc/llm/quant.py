"""Quantization stage: the scheme, and int8 weights with group-wise scales (done once, at compile time).

Weights: symmetric int8 in groups of `group_size` consecutive inputs of each output row; a row whose length is
not a multiple of the group size ends with a shorter remainder group (hidden_dim 172 with groups of 64 is
64 + 64 + 44: no column is dropped). Scale = max|w| / 127 in float32, q = round-half-even(w / scale).
Activations are quantized the same way at run time (`mathf.quantize_groups`), per group of the same size.
The KV cache can be int8 too, one scale per `kv_group` values of each cached row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyc.errors import InputError

F = np.float32


@dataclass(frozen=True)
class QuantScheme:
    weights: str = "f32"  # "f32" or "int8"
    group_size: int = 64  # int8: inputs per scale (weights and activations)
    kv: str = "f32"  # "f32" or "int8"
    kv_group: int = 0  # int8 KV: values per scale; 0 = a whole cached row (kv_dim)

    def __post_init__(self) -> None:
        if self.weights not in ("f32", "int8"):
            raise InputError(f"unknown weight quantization '{self.weights}' (expected f32 or int8)")
        if self.kv not in ("f32", "int8"):
            raise InputError(f"unknown KV cache type '{self.kv}' (expected f32 or int8)")
        if not 0 < self.group_size <= 65536 or self.group_size % 4 or self.kv_group < 0:
            raise InputError(f"group size {self.group_size} must be a multiple of 4 in 4..65536")

    @classmethod
    def named(cls, name: str, **kw: int | str) -> QuantScheme:
        """`f32`: float weights and cache (as llama2.c's run.c); `int8`: int8 weights, activations, KV."""
        if name == "f32":
            return cls(**kw)  # type: ignore[arg-type]
        if name == "int8":
            return cls(**{"weights": "int8", "kv": "int8", **kw})  # type: ignore[arg-type]
        raise InputError(f"unknown quantization mode '{name}' (expected f32 or int8)")

    @property
    def tag(self) -> str:
        if self.weights == "f32" and self.kv == "f32":
            return "f32"
        kv = f"kv{self.kv}" + (f"g{self.kv_group}" if self.kv == "int8" and self.kv_group else "")
        return f"{self.weights}g{self.group_size}-{kv}" if self.weights == "int8" else f"f32-{kv}"


def n_groups(n: int, group: int) -> int:
    return -(-n // group)


def quantize_weight(w: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
    """w [..., rows, n] float32 -> (q int8 same shape, scales float32 [..., rows, ceil(n/group)])."""
    n = w.shape[-1]
    ng = n_groups(n, group)
    pad = ng * group - n
    wp = np.pad(w.astype(F), [(0, 0)] * (w.ndim - 1) + [(0, pad)]).reshape(*w.shape[:-1], ng, group)
    amax = np.max(np.abs(wp), axis=-1)
    scale = (amax / F(127.0)).astype(F)
    safe = np.where(scale > 0, scale, F(1.0))
    q = np.clip(np.rint(wp / safe[..., None]), -127, 127).astype(np.int8)
    q = q.reshape(*w.shape[:-1], ng * group)[..., :n]
    return np.ascontiguousarray(q), scale


def dequantize_weight(q: np.ndarray, s: np.ndarray, group: int) -> np.ndarray:
    return (q.astype(F) * np.repeat(s, group, axis=-1)[..., : q.shape[-1]]).astype(F)
