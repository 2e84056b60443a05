"""Tensors of the IR: static shape, dtype, optional quantization and optional constant data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DTYPES = {
    "float32": np.float32,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "bool": np.bool_,  # TFLite BOOL: one byte, 0 or 1 (the signal ops' valid flags)
}


@dataclass
class Quant:
    """Affine quantization real = scale * (q - zero_point); per tensor (axis None) or per channel along axis."""

    scale: np.ndarray  # float32, shape [1] or [channels]
    zero_point: np.ndarray  # int32, same shape as scale
    axis: int | None = None

    def __post_init__(self) -> None:
        self.scale = np.asarray(self.scale, dtype=np.float32).reshape(-1)
        self.zero_point = np.asarray(self.zero_point, dtype=np.int32).reshape(-1)

    @property
    def per_channel(self) -> bool:
        return self.axis is not None and self.scale.size > 1

    @property
    def s(self) -> float:
        """The per-tensor scale as a Python float (of the float32 value)."""
        return float(self.scale[0])

    @property
    def zp(self) -> int:
        return int(self.zero_point[0])

    def to_json(self) -> dict:
        return {"scale": [float(v) for v in self.scale], "zero_point": [int(v) for v in self.zero_point],
                "axis": self.axis}


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = field(default=None, repr=False)  # set for constants (weights, biases)

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        if self.data is not None:
            self.data = np.ascontiguousarray(self.data, dtype=DTYPES[self.dtype]).reshape(self.shape)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(DTYPES[self.dtype]).itemsize

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(DTYPES[self.dtype])

    def to_json(self) -> dict:
        out: dict = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}
        if self.quant is not None:
            out["quant"] = self.quant.to_json()
        if self.data is not None:
            out["const"] = True
        return out
