"""Compact encodings of sparse int8 weight rows, and the sparse kernels of fully_connected and conv2d.

A layer's int8 weights are rows, one per output channel, over the reduction in memory order (fully
connected: the input columns; conv2d OHWI: ky, kx, input channel). Pruned rows are mostly zeros; the
lowering stores them in the smallest of these encodings when that saves at least SPARSE_MIN_SAVING of
the dense bytes, and the C kernel reads them skipping the zeros:

- "nm" (N of every M: `tinyc prune --method n:m`): every group of M consecutive weights of a row keeps
  exactly N values (zeros pad a group holding fewer) and, for each, its position in the group as a
  BITS-bit index (BITS = 2 for M <= 4, 4 for M <= 16, else 8), packed low bits first, each row starting
  on a byte. consts: `values` int8 [rows, groups * N], `index` uint8 [rows, index bytes per row].
- "mask" (unstructured, moderate sparsity): one bit per weight (bit j of byte b: column 8b + j, rows of
  ceil(K / 8) bytes) and the non-zero values of all rows one after another. consts: `mask` uint8
  [rows, ceil(K / 8)], `values` int8 [non-zeros].
- "runs" (unstructured, high sparsity): per row its number of entries; per entry the count of columns
  skipped since the previous entry (0-255; a longer gap holds an entry of value 0) and its value.
  consts: `counts` int16 or int32 [rows], `skips` uint8 [entries], `values` int8 [entries].

Accumulation is the dense kernel's, over the non-zero products only (the zeros add nothing), with the
same folded bias and requantization, so the bytes equal the dense kernel's. The reference kernels here
decode the encoding back to the dense weights and run the dense kernel: the C reads the encoding, the
reference decodes it, and tests hold both to the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyc.lower.plan import Step

SPARSE_MIN_SAVING = 0.2  # use a sparse encoding when it is at least this much smaller than the dense weights
NM_GROUPS = (4, 8, 16)  # group sizes M tried for the "nm" encoding
FORMATS = ("nm", "mask", "runs")


@dataclass
class Encoding:
    format: str
    consts: dict[str, np.ndarray]
    params: dict[str, int | str]

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.consts.values()))


def index_bits(m: int) -> int:
    return 2 if m <= 4 else 4 if m <= 16 else 8


# --- encoders ---------------------------------------------------------------------------------------


def encode_nm(rows: np.ndarray, n: int, m: int) -> Encoding | None:
    """N of every M; None when some group of M holds more than N non-zeros."""
    r, k = rows.shape
    groups = -(-k // m)
    padded = np.zeros((r, groups * m), np.int8)
    padded[:, :k] = rows
    g = padded.reshape(r, groups, m)
    nz = g != 0
    if int(nz.sum(axis=2).max(initial=0)) > n:
        return None
    # the first n positions of each group in the order: non-zeros first, then in-range zeros (by position)
    valid = (np.arange(groups)[:, None] * m + np.arange(m)[None, :]) < k  # [groups, m]
    rank = np.where(nz, 0, np.where(valid[None], 1, 2)) * m + np.arange(m)[None, None, :]
    pos = np.sort(np.argsort(rank, axis=2, kind="stable")[:, :, :n], axis=2)  # [r, groups, n], ascending
    values = np.take_along_axis(g, pos, axis=2).reshape(r, groups * n)
    # a last, partial group with fewer than n columns repeats its first column (with value 0)
    pos = np.where(np.arange(groups)[None, :, None] * m + pos < k, pos, 0)
    bits = index_bits(m)
    per_byte = 8 // bits
    flat = pos.reshape(r, groups * n).astype(np.uint32)
    row_bytes = -(-(groups * n) // per_byte)
    idx = np.zeros((r, row_bytes * per_byte), np.uint32)
    idx[:, :groups * n] = flat
    shifts = np.arange(per_byte, dtype=np.uint32) * bits
    packed = (idx.reshape(r, row_bytes, per_byte) << shifts).sum(axis=2)
    return Encoding("nm", {"values": values.astype(np.int8), "index": packed.astype(np.uint8)},
                    {"format": "nm", "n": n, "m": m, "groups": groups, "bits": bits, "index_bytes": row_bytes,
                     "stored": r * groups * n})


def encode_mask(rows: np.ndarray) -> Encoding:
    r, k = rows.shape
    mask_bytes = -(-k // 8)
    bits = np.zeros((r, mask_bytes * 8), np.uint8)
    bits[:, :k] = rows != 0
    mask = np.packbits(bits.reshape(r, mask_bytes, 8), axis=2, bitorder="little").reshape(r, mask_bytes)
    values = rows[rows != 0].astype(np.int8)  # row-major: row by row, columns ascending
    return Encoding("mask", {"mask": mask, "values": values},
                    {"format": "mask", "mask_bytes": mask_bytes, "stored": int(values.size)})


def encode_runs(rows: np.ndarray) -> Encoding:
    r, _ = rows.shape
    counts, skips, values = [], [], []
    for row in rows:
        pos, n = 0, 0
        for col in np.flatnonzero(row):
            gap = int(col) - pos
            while gap > 255:  # an entry of value 0 after 255 skipped columns
                skips.append(255)
                values.append(0)
                n += 1
                gap -= 256
                pos += 256
            skips.append(gap)
            values.append(int(row[col]))
            n += 1
            pos = int(col) + 1
        counts.append(n)
    ctype = np.int16 if max(counts, default=0) < 2**15 else np.int32
    return Encoding("runs", {"counts": np.array(counts, ctype), "skips": np.array(skips, np.uint8),
                             "values": np.array(values, np.int8)},
                    {"format": "runs", "stored": len(values)})


def candidates(rows: np.ndarray) -> list[Encoding]:
    out = [encode_mask(rows), encode_runs(rows)]
    nz_max = {}
    for m in NM_GROUPS:
        if m >= rows.shape[1]:
            continue
        k = rows.shape[1]
        g = np.zeros((rows.shape[0], -(-k // m) * m), bool)
        g[:, :k] = rows != 0
        nz_max[m] = int(g.reshape(rows.shape[0], -1, m).sum(axis=2).max(initial=0))
        if nz_max[m] < m:
            enc = encode_nm(rows, max(nz_max[m], 1), m)
            if enc is not None:
                out.append(enc)
    return out


def choose(rows: np.ndarray, min_saving: float | None = None) -> Encoding | None:
    """The smallest encoding of the rows if it saves at least `min_saving` of the dense bytes
    (default SPARSE_MIN_SAVING), else None (keep them dense). On a tie "nm" wins (it has no branches)."""
    min_saving = SPARSE_MIN_SAVING if min_saving is None else min_saving
    if rows.dtype != np.int8 or rows.size == 0 or min_saving >= 1.0:
        return None
    best = min(candidates(rows), key=lambda e: (e.nbytes, FORMATS.index(e.format)))
    return best if best.nbytes <= (1.0 - min_saving) * rows.size else None


# --- decoder (the reference) -----------------------------------------------------------------------


def decode(p: dict, consts: dict[str, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """The dense int8 rows [rows, K] an encoding stands for."""
    r, k = shape
    fmt = p["format"]
    if fmt == "nm":
        n, m, groups, bits = p["n"], p["m"], p["groups"], p["bits"]
        per_byte = 8 // bits
        packed = consts["index"].astype(np.uint32)
        idx = (packed[:, :, None] >> (np.arange(per_byte, dtype=np.uint32) * bits)) & ((1 << bits) - 1)
        idx = idx.reshape(r, -1)[:, :groups * n].reshape(r, groups, n).astype(np.int64)
        cols = idx + (np.arange(groups) * m)[None, :, None]
        if np.any(cols >= k):
            raise ValueError("nm index beyond the row")
        out = np.zeros((r, k), np.int64)
        np.add.at(out, (np.repeat(np.arange(r), groups * n), cols.reshape(-1)),
                  consts["values"].astype(np.int64).reshape(-1))
        return out.astype(np.int8)
    if fmt == "mask":
        bits = np.unpackbits(consts["mask"], axis=1, bitorder="little")[:, :k].astype(bool)
        out = np.zeros((r, k), np.int8)
        out[bits] = consts["values"]
        return out
    if fmt == "runs":
        out = np.zeros((r, k), np.int8)
        e = 0
        skips, values = consts["skips"], consts["values"]
        for row, count in enumerate(consts["counts"].tolist()):
            pos = 0
            for _ in range(count):
                pos += int(skips[e])
                out[row, pos] = values[e]
                pos += 1
                e += 1
        return out
    raise ValueError(f"unknown sparse format '{fmt}'")


# --- lowering -----------------------------------------------------------------------------------------


def sparsify(step: Step, sparse_kernel: str, min_saving: float | None = None) -> Step:
    """Rewrite a dense int8 step (consts weights, bias, mult, shift) to `sparse_kernel` if its weights
    have an encoding small enough; the step is returned (changed in place or not)."""
    w = step.consts["weights"]
    rows = w.reshape(w.shape[0], -1)
    enc = choose(rows, min_saving)
    if enc is None:
        return step
    step.kernel = sparse_kernel
    step.params |= enc.params | {"weight_shape": tuple(int(d) for d in w.shape), "dense_bytes": int(w.nbytes)}
    step.consts = {"bias": step.consts["bias"], "mult": step.consts["mult"], "shift": step.consts["shift"]} \
        | enc.consts
    return step


def dense_weights(step: Step) -> np.ndarray:
    """The dense int8 weights of a sparse step (shape as the dense kernel takes them)."""
    shape = tuple(step.params["weight_shape"])
    rows = decode(step.params, step.consts, (shape[0], int(np.prod(shape[1:]))))
    return rows.reshape(shape)


def as_dense(step: Step) -> Step:
    """The dense step a sparse one stands for (weights decoded), for the dense reference kernel."""
    consts = {"weights": dense_weights(step), "bias": step.consts["bias"], "mult": step.consts["mult"],
              "shift": step.consts["shift"]}
    return Step(step.kernel.replace("_sparse", ""), step.node, step.inputs, step.outputs, step.params, consts,
                step.alias, step.inplace, step.scratch, step.macs)
