"""Float in, float out: a quantized model's inputs quantized and its outputs dequantized with the model's own
parameters, exactly as the reference runtime's QUANTIZE and DEQUANTIZE kernels (and the generated
``<name>_quantize_input`` / ``<name>_dequantize_output`` helpers) compute them.

Quantize: q = clamp(round(x / scale) + zero_point), the division in float32, round to nearest with ties away
from zero (std::round, TFLM's AffineQuantize); NaN counts as 0 (so NaN -> zero_point) and +-inf saturate.
Dequantize: scale * (float)(q - zero_point), one float32 multiplication (TFLM's Dequantize; the difference in
64 bits for an int32 output).
A float tensor passes unchanged; an integer tensor without quantization parameters cannot take floats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyc.errors import InputError, shown
from tinyc.ir import Graph
from tinyc.lower.plan import Step
from tinyc.ops import quantize as quantize_op

QUANTIZED_DTYPES = ("int8", "uint8", "int16")
OUTPUT_DTYPES = (*QUANTIZED_DTYPES, "int32")  # an int32 output with a scale (SVDF / softmax logits) dequantizes


def _params(graph: Graph, name: str, kind: str, k: int) -> tuple[float, int, str] | None:
    """(scale, zero point, dtype) of a quantized boundary tensor; None for a float one."""
    t = graph.tensor(name)
    if t.dtype == "float32":
        return None
    which = f"{kind} {k} ('{shown(name)}') of model '{shown(graph.name)}'"
    dtypes = QUANTIZED_DTYPES if kind == "input" else OUTPUT_DTYPES
    if t.dtype not in dtypes or t.quant is None:
        raise InputError(f"{which} is {t.dtype}{' without quantization parameters' if t.quant is None else ''}; "
                         f"float I/O needs float32 or quantized {'/'.join(dtypes)}")
    if t.quant.per_channel:
        raise InputError(f"{which} is quantized per channel; float I/O takes one scale per tensor")
    return t.quant.s, t.quant.zp, t.dtype


def quantize_inputs(graph: Graph, batches: list[np.ndarray]) -> list[np.ndarray]:
    """Float32 batches (N, *shape), one per model input -> the model's input dtypes."""
    out = []
    for k, (name, x) in enumerate(zip(graph.inputs, batches, strict=True)):
        p = _params(graph, name, "input", k)
        x = np.asarray(x, dtype=np.float32)
        if p is None:
            out.append(x)
            continue
        scale, zp, dtype = p
        lo, hi = quantize_op.INT_RANGES[dtype]
        step = Step("quantize_f32", "float-io", [name], [name],
                    {"size": x.size, "scale": scale, "out_zp": zp, "qmin": lo, "qmax": hi, "out_dtype": dtype})
        out.append(quantize_op.run_affine(step, [x])[0])
    return out


def dequantize_outputs(graph: Graph, outputs: list[np.ndarray]) -> list[np.ndarray]:
    """The model's outputs (N, *shape) -> float32."""
    out = []
    for k, (name, q) in enumerate(zip(graph.outputs, outputs, strict=True)):
        p = _params(graph, name, "output", k)
        if p is None:
            out.append(np.asarray(q, dtype=np.float32))
            continue
        # as the DEQUANTIZE kernel, the difference in 64 bits so that an int32 output cannot wrap
        out.append(np.float32(p[0]) * (np.asarray(q).astype(np.int64) - p[1]).astype(np.float32))
    return out


def load_float_inputs(graph: Graph, path: str | Path) -> tuple[list[np.ndarray], bool]:
    """IN.npy (one input) or IN.npz (arrays input0, input1, ...) of floats -> float32 batches, one per model
    input, and whether the file held a single inference (as pipeline.load_inputs, for float data)."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: cannot read as .npy or .npz ({exc})") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            keys = [f"input{k}" for k in range(len(graph.inputs))]
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise InputError(f"{path}: missing arrays {', '.join(missing)}")
            arrays = [data[k] for k in keys]
    elif len(graph.inputs) != 1:
        raise InputError(f"{path}: the model has {len(graph.inputs)} inputs; give them as IN.npz with arrays "
                         f"input0 .. input{len(graph.inputs) - 1}")
    else:
        arrays = [data]
    single = all(a.shape == graph.tensor(n).shape for a, n in zip(arrays, graph.inputs, strict=True))
    return float_batches(graph, arrays, str(path)), single


def float_batches(graph: Graph, arrays: list[np.ndarray], source: str) -> list[np.ndarray]:
    """Float arrays, one per model input, each one sample or N stacked (with or without the input's leading
    batch axis of 1) -> (N, *shape) float32 batches."""
    out = []
    for k, (name, x) in enumerate(zip(graph.inputs, arrays, strict=True)):
        t = graph.tensor(name)
        if not np.issubdtype(x.dtype, np.floating):
            raise InputError(f"{source}: input {k} has dtype {x.dtype}; float I/O takes floating-point data")
        batch = as_batch(x, t.shape)
        if batch is None:
            raise InputError(f"{source}: input {k} shape {list(x.shape)}, model '{shown(graph.name)}' takes "
                             f"{list(t.shape)} or [N, {', '.join(map(str, t.shape))}]")
        if not np.isfinite(batch).all():
            raise InputError(f"{source}: input {k} holds NaN or infinite values; float inputs must be finite")
        out.append(batch.astype(np.float32))
    if len({len(b) for b in out}) > 1:
        raise InputError(f"{source}: the inputs hold different numbers of inferences")
    return out


def as_batch(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """``x`` as (N, *shape): one sample of ``shape``, N stacked, or, when ``shape`` starts with a batch axis
    of 1, N samples without it ((N, *shape[1:]) or one sample of shape[1:]); None if it is none of these."""
    if x.shape == tuple(shape):
        return x[np.newaxis]
    if x.ndim == len(shape) + 1 and x.shape[1:] == tuple(shape) and len(x) > 0:
        return x
    if len(shape) > 0 and shape[0] == 1:
        rest = tuple(shape[1:])
        if x.shape == rest:
            return x.reshape((1, *shape))
        if x.ndim == len(shape) and x.shape[1:] == rest and len(x) > 0:
            return x.reshape((len(x), *shape))
    return None
