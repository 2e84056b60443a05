"""How far a sliding-window kernel's output may start before its input in one buffer (a conv writing over the
input rows it has finished reading).

The contract of the kernels listed in ROW_MAJOR (checked in their C templates on every path: plain C, DSP,
Helium): one NHWC image, output pixels computed in row-major order, at most IN_FLIGHT consecutive pixels at a
time (their windows read while their outputs are written, channel block by channel block), never a pixel before
every earlier one is complete. So the bytes of pixel p may be written over any input byte that no window of a
pixel from p - IN_FLIGHT + 1 on reads. A kernel whose loop order changes (channel-blocked over the whole
image, pixels out of order) must leave this set.
"""

from __future__ import annotations

import numpy as np

from tinyc.lower.plan import Step

# conv2d_s8.c.j2: pixel pairs (DSP: threes, the last one ending at the last pixel; RISC-V: groups of 4, the
# same). Not depthwise_conv2d_s8: its DSP 3x3 path runs each block of 4 channels over the whole image.
ROW_MAJOR = frozenset({"conv2d_s8"})
IN_FLIGHT = 4  # pixels whose reads and writes may interleave


def _first_tap(start: np.ndarray, k: int, dil: int, size: int) -> np.ndarray:
    """Per window origin `start`, the first in-bounds tap coordinate of k taps `dil` apart (size if none)."""
    taps = start[:, None] + dil * np.arange(k)[None, :]
    inside = (taps >= 0) & (taps < size)
    first = np.where(inside, taps, size).min(axis=1)
    return first


def lead(step: Step, in_itemsize: int, out_itemsize: int) -> int | None:
    """The least bytes by which the output must start before the input (negative: may start after it) so that
    every write lands on input bytes no later window reads; None for kernels outside the contract."""
    p = step.params
    if step.kernel not in ROW_MAJOR or p.get("batches", 1) != 1:
        return None
    oy, ox = np.divmod(np.arange(p["out_h"] * p["out_w"]), p["out_w"])
    row = _first_tap(oy * p["stride_h"] - p["pad_top"], p["k_h"], p["dil_h"], p["in_h"])
    col = _first_tap(ox * p["stride_w"] - p["pad_left"], p["k_w"], p["dil_w"], p["in_w"])
    in_bytes = p["in_h"] * p["in_w"] * p["in_c"] * in_itemsize
    # the lowest input byte each window reads (a window all in the padding reads none)
    low = np.where((row < p["in_h"]) & (col < p["in_w"]), (row * p["in_w"] + col) * p["in_c"] * in_itemsize,
                   in_bytes)
    still_read = np.minimum.accumulate(low[::-1])[::-1]  # lowest byte read by this pixel or any later one
    guard = still_read[np.maximum(np.arange(low.size) - (IN_FLIGHT - 1), 0)]
    write_end = (np.arange(low.size) + 1) * p["out_c"] * out_itemsize
    return int((write_end - guard).max())
