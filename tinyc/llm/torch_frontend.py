"""Frontend: a llama-style PyTorch model (llama2.c's `model.py` structure) -> LlamaModel.

Accepts the `torch.nn.Module` itself, its `state_dict()`, or a file saved with `torch.save` and read with
`torch.load(path, weights_only=True)` (plain tensors and containers only; no object is ever unpickled): a bare
state_dict, or llama2.c's training checkpoint `{"model": state_dict, "model_args": {...}}`.

Parameter names: `tok_embeddings.weight`, `layers.<i>.attention.{wq,wk,wv,wo}.weight`,
`layers.<i>.attention_norm.weight`, `layers.<i>.feed_forward.{w1,w2,w3}.weight`, `layers.<i>.ffn_norm.weight`,
`norm.weight`, `output.weight` (a `_orig_mod.` prefix from torch.compile is dropped). Shapes give dim,
hidden_dim, n_layers, kv_dim and vocab_size; n_heads and max_seq_len come from the module's `params`, the
checkpoint's `model_args`, or the caller. The classifier is shared when `output.weight` equals the embedding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyc.errors import InputError, ModelError
from tinyc.llm.checkpoint import LIMITS, check_magnitudes
from tinyc.llm.model import LlamaConfig, LlamaModel

if TYPE_CHECKING:
    import torch

F = np.float32
NORM_EPS = 1e-5  # the decoder's rmsnorm epsilon (llama2.c's run.c)
_LAYER = re.compile(r"layers\.(\d+)\.(.+)")
_PER_LAYER = {"attention.wq.weight": "wq", "attention.wk.weight": "wk", "attention.wv.weight": "wv",
              "attention.wo.weight": "wo", "attention_norm.weight": "rms_att", "feed_forward.w1.weight": "w1",
              "feed_forward.w2.weight": "w2", "feed_forward.w3.weight": "w3", "ffn_norm.weight": "rms_ffn"}
_GLOBAL = {"tok_embeddings.weight": "tok_emb", "norm.weight": "rms_final", "output.weight": "wcls"}
_IGNORED = re.compile(r"(layers\.\d+\.attention\.mask|freqs_cos|freqs_sin)")  # buffers, not weights


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("the PyTorch frontend needs torch (pip install torch)") from None
    return torch


def _params(obj: Any) -> dict[str, Any]:
    """Hyper-parameters from a ModelArgs-like object or a dict (only the fields tinyc uses)."""
    if obj is None:
        return {}
    src = obj if isinstance(obj, Mapping) else vars(obj)
    keys = ("dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "hidden_dim", "max_seq_len", "norm_eps")
    return {k: src[k] for k in keys if src.get(k) is not None}


def from_torch(module: torch.nn.Module | Mapping[str, Any], *, n_heads: int | None = None,
               max_seq_len: int | None = None, source: str = "torch module", **params: Any) -> LlamaModel:
    """A LlamaModel from a llama-style module or state_dict; keyword arguments override the module's
    `params` (n_heads, n_kv_heads, max_seq_len, norm_eps)."""
    torch = _torch()
    if isinstance(module, torch.nn.Module):
        hp = _params(getattr(module, "params", None))
        state = module.state_dict()
    else:
        hp, state = {}, module
    hp.update(_params({"n_heads": n_heads, "max_seq_len": max_seq_len, **params}))
    weights = _collect(state, source)
    return _build(weights, hp, source)


def load_torch(path: str | Path, **params: Any) -> LlamaModel:
    """A LlamaModel from a `torch.save`d state_dict or llama2.c training checkpoint (`ckpt.pt`)."""
    torch = _torch()
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such PyTorch file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for hostile or broken files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a weights-only PyTorch file ({first[:200]})") from None
    if not isinstance(obj, Mapping):
        raise ModelError(f"{path}: holds a {type(obj).__name__}, not a state_dict")
    hp: dict[str, Any] = {}
    if isinstance(obj.get("model"), Mapping):  # llama2.c train.py checkpoint
        hp = _params(obj.get("model_args") if isinstance(obj.get("model_args"), Mapping) else None)
        obj = obj["model"]
    hp.update(_params(params))
    return _build(_collect(obj, str(path)), hp, str(path))


def _collect(state: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Known tensors by tinyc name (per-layer ones as {layer: array}); anything unknown is an error."""
    torch = _torch()
    out: dict[str, Any] = {}
    for key, value in state.items():
        key = key.removeprefix("_orig_mod.")
        if _IGNORED.fullmatch(key):
            continue
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise ModelError(f"{name}: {key} is not a floating-point tensor")
        m = _LAYER.fullmatch(key)
        if key in _GLOBAL:
            out[_GLOBAL[key]] = _array(value)
        elif m and m.group(2) in _PER_LAYER:
            out.setdefault(_PER_LAYER[m.group(2)], {})[int(m.group(1))] = _array(value)
        else:
            what = "biases are not supported" if key.endswith(".bias") else "not a llama2.c-style parameter"
            raise ModelError(f"{name}: unexpected tensor {key} ({what})")
    return out


def _array(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu").float().contiguous().numpy().astype(F, copy=True)


def _build(found: dict[str, Any], hp: dict[str, Any], name: str) -> LlamaModel:
    for key in ("tok_emb", "rms_final", *_PER_LAYER.values()):
        if key not in found:
            raise ModelError(f"{name}: no {_spelled(key)} tensor")
    vocab, dim = found["tok_emb"].shape
    layers = len(found["wq"])
    for key in _PER_LAYER.values():
        if sorted(found[key]) != list(range(layers)):
            raise ModelError(f"{name}: {_spelled(key)} for layers {sorted(found[key])}, expected "
                             f"0..{layers - 1}")
    if "n_heads" not in hp or "max_seq_len" not in hp:
        raise ModelError(f"{name}: n_heads and max_seq_len are not in the model; pass them (n_heads=..., "
                         "max_seq_len=...)")
    if float(hp.get("norm_eps", NORM_EPS)) != NORM_EPS:
        raise ModelError(f"{name}: norm_eps {hp['norm_eps']} is not supported (the decoder uses {NORM_EPS})")
    n_heads = int(hp["n_heads"])
    head = dim // n_heads if n_heads > 0 and dim % n_heads == 0 else 0
    kv_dim = found["wk"][0].shape[0]
    if head == 0 or kv_dim % head:
        raise ModelError(f"{name}: dim {dim}, n_heads {n_heads}, wk's {kv_dim} rows: not whole heads")
    shared = "wcls" not in found or np.array_equal(found["wcls"], found["tok_emb"])
    config = LlamaConfig(dim=dim, hidden_dim=found["w1"][0].shape[0], n_layers=layers, n_heads=n_heads,
                         n_kv_heads=int(hp.get("n_kv_heads", kv_dim // head)), vocab_size=vocab,
                         seq_len=int(hp["max_seq_len"]), shared_classifier=bool(shared))
    _check(config, hp, name)
    weights = {k: (np.stack([v[i] for i in range(layers)]) if isinstance(v, dict) else v)
               for k, v in found.items() if k != "wcls" or not config.shared_classifier}
    for key, shape in config.weight_shapes().items():
        if weights[key].shape != shape:
            raise ModelError(f"{name}: {_spelled(key)} has shape {list(weights[key].shape)}, expected "
                             f"{list(shape)} for {config.describe()}")
        if not np.isfinite(weights[key]).all():
            raise ModelError(f"{name}: {_spelled(key)} holds a non-finite value")
    model = LlamaModel(config=config, weights=weights, source=name)
    check_magnitudes(model)
    return model


def _check(c: LlamaConfig, hp: dict[str, Any], name: str) -> None:
    for key in ("dim", "n_layers", "vocab_size", "hidden_dim"):
        if key in hp and int(hp[key]) != getattr(c, key):
            raise ModelError(f"{name}: params say {key} {hp[key]}, the tensors {getattr(c, key)}")
    for key in ("n_heads", "n_kv_heads", "seq_len"):
        value = getattr(c, key)
        if not 0 < value <= LIMITS[key]:
            raise ModelError(f"{name}: {key} {value} outside 1..{LIMITS[key]}")
    if c.n_heads % c.n_kv_heads or c.head_size % 2 or c.kv_dim != c.head_size * c.n_kv_heads:
        raise ModelError(f"{name}: n_heads {c.n_heads}, n_kv_heads {c.n_kv_heads}, head size {c.head_size} "
                         "do not make a llama attention (heads a multiple of KV heads, even head size)")


def _spelled(key: str) -> str:
    """The PyTorch name of a tinyc weight, for messages."""
    inv = {v: k for k, v in _GLOBAL.items()} | {v: f"layers.<i>.{k}" for k, v in _PER_LAYER.items()}
    return inv.get(key, key)
