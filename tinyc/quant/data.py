"""Calibration and evaluation data: read from .npy files and checked against the model's input."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyc.errors import InputError
from tinyc.floatio import as_batch
from tinyc.ir import Graph


def input_tensor_shape(graph: Graph) -> tuple[int, ...]:
    if len(graph.inputs) != 1:
        raise InputError(f"model '{graph.name}' has {len(graph.inputs)} inputs; "
                         "quantization takes single-input models")
    return graph.tensor(graph.inputs[0]).shape


def check_samples(graph: Graph, samples: np.ndarray) -> np.ndarray:
    """Validate a calibration set: N samples of the model's input shape, finite float32."""
    shape = input_tensor_shape(graph)
    samples = np.asarray(samples)
    if samples.size == 0 or samples.ndim == 0 or samples.shape[0] == 0:
        raise InputError("calibration data is empty")
    if samples.shape[1:] != shape:
        raise InputError(f"calibration samples have shape {list(samples.shape[1:])}, "
                         f"model '{graph.name}' takes {list(shape)}")
    if not np.issubdtype(samples.dtype, np.floating):
        raise InputError(f"calibration data must be floating point, got {samples.dtype}")
    if not np.all(np.isfinite(samples)):
        bad = int(np.count_nonzero(~np.isfinite(samples).reshape(len(samples), -1).all(axis=1)))
        raise InputError(f"calibration data contains NaN or infinite values "
                         f"({bad} of {len(samples)} samples)")
    return samples.astype(np.float32)


def load_samples(graph: Graph, path: str | Path) -> np.ndarray:
    """DATA as `tinyc run -i` takes it: a .npy of one sample or of N stacked on a leading axis (with or
    without the input's own leading batch axis of 1), or a folder of such .npy files (read in name order).
    Returns (N, *input shape) float32."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise InputError(f"{path}: calibration data is empty (no .npy files in the folder)")
    elif path.is_file():
        files = [path]
    else:
        raise InputError(f"{path}: no such file or folder")
    shape = input_tensor_shape(graph)
    parts = []
    for f in files:
        x = _read(f)
        if x.size == 0:
            raise InputError(f"{f}: calibration data is empty (shape {list(x.shape)})")
        batch = as_batch(x, shape)  # a leading batch axis of 1 may be left out
        if batch is None:
            raise InputError(f"{f}: calibration samples have shape {list(x.shape)}, model '{graph.name}' "
                             f"takes {list(shape)} or [N, {', '.join(map(str, shape))}]")
        parts.append(batch)
    if any(not np.issubdtype(p.dtype, np.floating) for p in parts):
        dtype = next(p.dtype for p in parts if not np.issubdtype(p.dtype, np.floating))
        raise InputError(f"{path}: calibration data must be floating point, got {dtype}")
    return check_samples(graph, np.concatenate(parts) if len(parts) > 1 else parts[0])


def _read(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: cannot read as .npy ({exc})") from None
