"""Frontend: llama2.c legacy checkpoints (`model.bin`), read as plain little-endian numbers, never unpickled.

Layout: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative: separate
classifier), seq_len), then float32 arrays in llama2.c's order: token embedding, rms_att, wq, wk, wv, wo,
rms_ffn, w1, w2, w3, rms_final, freq_cis_real, freq_cis_imag ([seq_len, head_size/2] each, unused: tinyc
computes RoPE tables as run.c does), then the classifier when not shared. The file is untrusted: every header
field is checked and the file size must be exactly what the header implies. `save_checkpoint` writes the same
layout (what llama2.c's `export.py --version 0` writes and `run.c` reads).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyc.atomic import atomic_path
from tinyc.errors import ModelError
from tinyc.llm.mathf import rope_tables
from tinyc.llm.model import LlamaConfig, LlamaModel

HEADER_FIELDS = ("dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len")
HEADER_BYTES = 4 * len(HEADER_FIELDS)
# Generous bounds: anything beyond these is not a model for a microcontroller (or not a checkpoint).
LIMITS = {"dim": 1 << 16, "hidden_dim": 1 << 18, "n_layers": 1024, "n_heads": 4096, "n_kv_heads": 4096,
          "vocab_size": 1 << 20, "seq_len": 1 << 20}
ORDER = ("tok_emb", "rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3", "rms_final")


def parse_header(raw: bytes, name: str) -> LlamaConfig:
    """Validate the 7 header ints; raise ModelError naming the file and the field that is wrong."""
    if len(raw) < HEADER_BYTES:
        raise ModelError(f"{name}: file is {len(raw)} bytes, shorter than the {HEADER_BYTES}-byte llama2.c "
                         "header")
    values = dict(zip(HEADER_FIELDS, (int(v) for v in np.frombuffer(raw[:HEADER_BYTES], "<i4")), strict=True))
    shared = values["vocab_size"] > 0
    values["vocab_size"] = abs(values["vocab_size"])
    for key, value in values.items():
        if value <= 0:
            raise ModelError(f"{name}: header field {key} is {value}, must be positive")
        if value > LIMITS[key]:
            raise ModelError(f"{name}: header field {key} is {value}, larger than the sane limit "
                             f"{LIMITS[key]}")
    dim, heads, kv_heads = values["dim"], values["n_heads"], values["n_kv_heads"]
    if dim % heads:
        raise ModelError(f"{name}: header dim {dim} is not a multiple of n_heads {heads}")
    if kv_heads > heads or heads % kv_heads:
        raise ModelError(f"{name}: header n_heads {heads} is not a multiple of n_kv_heads {kv_heads}")
    if (dim // heads) % 2:
        raise ModelError(f"{name}: head size {dim // heads} (dim {dim} / n_heads {heads}) is odd; RoPE "
                         "needs pairs")
    return LlamaConfig(**values, shared_classifier=shared)


def expected_size(config: LlamaConfig) -> int:
    floats = sum(int(np.prod(s)) for s in config.weight_shapes().values())
    floats += config.seq_len * config.head_size  # freq_cis_real + freq_cis_imag
    return HEADER_BYTES + 4 * floats


def load_checkpoint(path: str | Path) -> LlamaModel:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such checkpoint file")
    name = str(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        config = parse_header(f.read(HEADER_BYTES), name)
    want = expected_size(config)
    if size != want:
        what = "truncated" if size < want else f"{size - want} trailing bytes"
        raise ModelError(f"{name}: file is {size} bytes but its header ({config.describe()}) implies {want} "
                         f"bytes ({what})")
    data = np.fromfile(path, dtype="<f4", offset=HEADER_BYTES).astype(np.float32)
    shapes = config.weight_shapes()
    weights: dict[str, np.ndarray] = {}
    offset = 0
    half = config.seq_len * config.head_size // 2
    for key in (*ORDER, "freq_cis_real", "freq_cis_imag", "wcls"):
        if key.startswith("freq_cis"):
            offset += half
            continue
        if key not in shapes:
            continue
        n = int(np.prod(shapes[key]))
        w = data[offset:offset + n].reshape(shapes[key])
        offset += n
        if not np.isfinite(w).all():
            bad = int(np.flatnonzero(~np.isfinite(w.reshape(-1)))[0])
            raise ModelError(f"{name}: weight {key} holds a non-finite value at flat index {bad}")
        weights[key] = w
    model = LlamaModel(config=config, weights=weights, source=name)
    check_magnitudes(model)
    return model


# Every intermediate value of the float32 decoder stays below this bound (float32's largest finite value / 2**20:
# the factor covers rounding in the sums and the sampler's division by a temperature of at least 1e-6).
MAGNITUDE_LIMIT = float(np.finfo(np.float32).max) / 2**20
MIN_TEMPERATURE = 1e-6  # the smallest sampling temperature `tinyc generate` takes, so logits / T stays finite


def _row_sums(w: np.ndarray) -> float:
    """max over rows of sum |w|: the largest |W @ v| for |v| <= 1 (element-wise)."""
    return float(np.abs(w).sum(axis=-1, dtype=np.float64).max()) if w.size else 0.0


def magnitude_bound(model: LlamaModel) -> tuple[float, str]:
    """A worst-case bound on |every value| the decoder computes (any tokens, any position), and where it peaks.

    Each sublayer starts with RMSNorm, whose output is at most sqrt(dim) * max|gain| in magnitude whatever its
    input, so the sublayers' outputs are bounded by the weights alone (row sums of |W|: q, k, v, then RoPE (x2),
    scores (q.k / sqrt(head_size)), attention (a convex combination of v) and wo; w1, w3, silu(h1) * h3 and
    w2), and the residual stream by the embedding plus their sum; RMSNorm's sum of squares is dim * residual**2.
    """
    c, w = model.config, model.weights
    norm = float(np.sqrt(c.dim))
    residual = float(np.abs(w["tok_emb"]).max(initial=0.0))
    peak, where = residual, "the token embedding"

    def see(value: float, what: str) -> None:
        nonlocal peak, where
        if value > peak:
            peak, where = value, what

    for layer in range(c.n_layers):
        see(c.dim * residual * residual, f"layer {layer} attention RMSNorm")
        x = norm * float(np.abs(w["rms_att"][layer]).max(initial=0.0))
        q, k = 2 * _row_sums(w["wq"][layer]) * x, 2 * _row_sums(w["wk"][layer]) * x
        v = _row_sums(w["wv"][layer]) * x
        see(max(q, k, v), f"layer {layer} q/k/v")
        see(c.head_size * q * k / float(np.sqrt(c.head_size)), f"layer {layer} attention scores")
        out = _row_sums(w["wo"][layer]) * v
        see(out, f"layer {layer} attention output")
        residual += out
        see(c.dim * residual * residual, f"layer {layer} feed-forward RMSNorm")
        x = norm * float(np.abs(w["rms_ffn"][layer]).max(initial=0.0))
        h1, h3 = _row_sums(w["w1"][layer]) * x, _row_sums(w["w3"][layer]) * x
        see(max(h1, h3, h1 * h3), f"layer {layer} feed-forward hidden")
        out = _row_sums(w["w2"][layer]) * h1 * h3
        see(out, f"layer {layer} feed-forward output")
        residual += out
    see(c.dim * residual * residual, "the final RMSNorm")
    see(_row_sums(model.wcls) * norm * float(np.abs(w["rms_final"]).max(initial=0.0)), "the logits")
    return peak, where


def check_magnitudes(model: LlamaModel) -> None:
    """Refuse weights so large that float32 arithmetic in the decoder could overflow (to inf, then NaN)."""
    peak, where = magnitude_bound(model)
    if not peak <= MAGNITUDE_LIMIT:
        raise ModelError(f"{model.source}: weights too large for float32: values in {where} may reach {peak:.3g}, "
                         f"over tinyc's limit {MAGNITUDE_LIMIT:.3g} (float32 max / 2**20)")


def save_checkpoint(model: LlamaModel, path: str | Path) -> Path:
    """Write `model` as a llama2.c legacy checkpoint (RoPE tables as float32 cos/sin for every position)."""
    c = model.config
    header = (c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
              c.vocab_size if c.shared_classifier else -c.vocab_size, c.seq_len)
    cos, sin = rope_tables(c.seq_len, c.head_size)
    arrays = [model.weights[k] for k in ORDER] + [cos, sin]
    if not c.shared_classifier:
        arrays.append(model.weights["wcls"])
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        f.write(np.array(header, dtype="<i4").tobytes())
        for a in arrays:
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
    return path
