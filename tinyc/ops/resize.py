"""RESIZE_NEAREST_NEIGHBOR (int8, int16, float32) and RESIZE_BILINEAR (int8, float32), NHWC, as TFLM's kernels.

Where each output row and column reads from depends on the geometry only, so lowering computes it once, with
TFLM's own arithmetic (float32 for the nearest index and the float bilinear weights, TFLM's 10-bit fixed point
for int8 bilinear), and the kernels read it from per-row and per-column tables:
- nearest: a gather of whole pixels (TFLM copies the bytes; float32 as int32). Integer up- or down-scaling
  on both axes is a strided block copy of the movement family instead (tinyc/ops/_movement.py).
- bilinear float32: TFLM's ResizeBilinear, in its order: in00*(1-ay)*(1-ax) + in10*ay*(1-ax) + in01*(1-ay)*ax
  + in11*ay*ax + 0.0f, every step rounded to float32 (ay, 1-ay, ax, 1-ax are the tables).
- bilinear int8: TFLM's ResizeBilinearInteger: the sum of the four pixels times their 10-bit weights, rounded
  half away from zero by 2**20 (TFLM's double rounding); TFLM sums in int64, the C in int32, which lowering
  proves exact (the weights of an axis add up to at most 2048 in magnitude).
The int8 kernels move raw values, so input and output quantization must agree (the converter writes them so).
"""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops._common import quant
from tinyc.ops._movement import KERNELS as COPY_KERNELS
from tinyc.ops._movement import block, lower_copy, strides_of

F = np.float32
MAX_SIDE = 1 << 16  # input and output heights and widths: keeps TFLM's int32 index arithmetic exact


def _cdiv(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def nearest_index(out_size: int, in_size: int, align: bool, half: bool) -> np.ndarray:
    """TFLM's GetNearestNeighbor for each output position, in float32 as TFLM computes it."""
    scale = F(in_size - 1) / F(out_size - 1) if align and out_size > 1 else F(in_size) / F(out_size)
    offset = F(0.5) if half else F(0.0)
    out = []
    for i in range(out_size):
        v = float((F(i) + offset) * scale)
        k = int(math.copysign(math.floor(abs(v) + 0.5), v)) if align else math.floor(v)  # TfLiteRound: half away
        k = min(k, in_size - 1)
        out.append(max(k, 0) if half else k)
    return np.array(out, np.int32)


def bilinear_f32(out_size: int, in_size: int, align: bool, half: bool) -> tuple[np.ndarray, ...]:
    """TFLM's ComputeInterpolationValues per output position: lower and upper index, (v - lower), 1 - (v - lower)."""
    scale = F(in_size) / F(out_size)
    if align and out_size > 1:
        scale = F(in_size - 1) / F(out_size - 1)
    lo, hi, frac, rest = [], [], [], []
    for i in range(out_size):
        v = (F(i) + F(0.5)) * scale - F(0.5) if half else F(i) * scale
        k0 = max(int(math.floor(float(v))), 0)
        lo.append(k0)
        hi.append(min(int(math.ceil(float(v))), in_size - 1))
        d = F(v - F(k0))
        frac.append(d)
        rest.append(F(F(1.0) - d))
    return np.array(lo, np.int32), np.array(hi, np.int32), np.array(frac, F), np.array(rest, F)


def bilinear_s8(out_size: int, in_size: int, align: bool, half: bool) -> tuple[np.ndarray, ...]:
    """TFLM's ComputeInterpolationValuesInteger: lower and upper index, the 10-bit weight of the upper one."""
    s = ((1 << 10) * in_size + out_size // 2) // out_size
    if align and out_size > 1:
        s = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    lo, hi, frac = [], [], []
    for i in range(out_size):
        v = i * s + s // 2 - (1 << 9) if half else i * s
        k0 = max(_cdiv(v, 1 << 10), 0)
        lo.append(k0)
        hi.append(min(_cdiv(v + (1 << 10) - 1, 1 << 10), in_size - 1))
        frac.append(v - (1 << 10) * k0)
    return np.array(lo, np.int32), np.array(hi, np.int32), np.array(frac, np.int32)


def _pixels(x: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(N, B, H, W, C) batch -> x[:, :, ys][:, :, :, xs]."""
    return x[:, :, ys][:, :, :, xs]


def run_nearest(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    c = step.consts
    return [_pixels(inputs[0], c["ys"], c["xs"])]


def run_bilinear_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    c = step.consts
    x = np.asarray(inputs[0], F)
    ay, wy = c["y_frac"][:, None, None], c["y_rest"][:, None, None]
    ax, wx = c["x_frac"][:, None], c["x_rest"][:, None]
    with np.errstate(all="ignore"):
        total = _pixels(x, c["y0"], c["x0"]) * wy * wx
        total = total + _pixels(x, c["y1"], c["x0"]) * ay * wx
        total = total + _pixels(x, c["y0"], c["x1"]) * wy * ax
        total = total + _pixels(x, c["y1"], c["x1"]) * ay * ax
        return [(total + F(0.0)).astype(F)]


def run_bilinear_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    c = step.consts
    x = inputs[0].astype(np.int64)
    dy, dx = c["y_frac"].astype(np.int64)[:, None, None], c["x_frac"].astype(np.int64)[:, None]
    one = 1 << 10
    acc = (_pixels(x, c["y0"], c["x0"]) * (one - dy) * (one - dx) + _pixels(x, c["y1"], c["x0"]) * dy * (one - dx)
           + _pixels(x, c["y0"], c["x1"]) * (one - dy) * dx + _pixels(x, c["y1"], c["x1"]) * dy * dx)
    num = acc + np.where(acc > 0, 1 << 19, -(1 << 19))
    q = np.sign(num) * (np.abs(num) >> 20)  # C's division by 2**20 truncates toward zero
    return [q.astype(np.int8)]


class _Resize(OpDef):
    kernels: dict = {}

    def flags(self, node: Node) -> tuple[bool, bool]:
        return bool(node.attrs.get("align_corners", False)), bool(node.attrs.get("half_pixel_centers", False))

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        size = tuple(int(v) for v in node.attrs["size"])
        expect(len(x.shape) == 4 and len(size) == 2, node, f"needs a 4-D NHWC input and a size of 2 values, got "
               f"{list(x.shape)} and {list(size)}")
        expect(min(size) >= 1 and max(*size, *x.shape[1:3]) <= MAX_SIDE, node,
               f"size {list(size)} and input {list(x.shape)} must lie in 1..{MAX_SIDE}")
        want = (x.shape[0], *size, x.shape[3])
        expect(y.shape == want and y.dtype == x.dtype, node, f"output {y.dtype}{list(y.shape)} is not "
               f"{x.dtype}{list(want)}")
        if x.dtype in ("int8", "int16"):
            qi, qo = quant(graph, x.name, node), quant(graph, y.name, node)
            expect(qi.s == qo.s and qi.zp == qo.zp, node, f"{x.dtype} resize needs equal input and output "
                   "quantization (the kernel moves raw values, as TFLM's)")

    def geometry(self, node: Node, graph: Graph) -> tuple[int, int, int, int, int, int]:
        n, h, w, c = graph.tensor(node.inputs[0]).shape
        oh, ow = (int(v) for v in node.attrs["size"])
        return n, h, w, c, oh, ow

    def macs(self, node: Node, graph: Graph) -> int:
        return graph.tensor(node.outputs[0]).size * (4 if self.name == "resize_bilinear" else 0)


def _scaled_axis(idx: np.ndarray, in_size: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int] | None:
    """An index table that is i // k (upscaling by k) or i * k + first (downscaling by k) as loop sizes, output
    and source strides in rows of the axis, and the first source row; None for any other table."""
    out = idx.size
    if out % in_size == 0 and np.array_equal(idx, np.arange(out) // (out // in_size)):
        k = out // in_size
        return (in_size, k), (k, 1), (1, 0), 0
    if in_size % out == 0 and np.array_equal(idx, np.arange(out) * (in_size // out) + idx[0]):
        return (out,), (1,), (in_size // out,), int(idx[0])
    return None


@register
class ResizeNearestNeighbor(_Resize):
    name = "resize_nearest_neighbor"
    tflite = ("RESIZE_NEAREST_NEIGHBOR",)
    kernels = {"resize_nearest": run_nearest} | COPY_KERNELS
    dtypes = frozenset({("int8", "int8"), ("int16", "int16"), ("float32", "float32")})

    def lower(self, node: Node, graph: Graph) -> Step:
        align, half = self.flags(node)
        n, h, w, c, oh, ow = self.geometry(node, graph)
        ys, xs = nearest_index(oh, h, align, half), nearest_index(ow, w, align, half)
        ry, rx = _scaled_axis(ys, h), _scaled_axis(xs, w)
        if ry is not None and rx is not None:  # a strided copy: each output row/column repeats or skips input ones
            so, si = strides_of((n, oh, ow, c)), strides_of((n, h, w, c))
            shape = (n, *ry[0], *rx[0], c)
            out = (so[0], *(k * so[1] for k in ry[1]), *(k * so[2] for k in rx[1]), 1)
            src = (si[0], *(k * si[1] for k in ry[2]), *(k * si[2] for k in rx[2]), 1)
            first = ry[3] * si[1] + rx[3] * si[2]
            return lower_copy(node, graph, [block(0, "in0", shape, out, src, src_offset=first)],
                              inputs=[node.inputs[0]])
        params = {"batches": n, "in_h": h, "in_w": w, "c": c, "out_h": oh, "out_w": ow}
        return Step("resize_nearest", node.name, [node.inputs[0]], [node.outputs[0]], params,
                    {"ys": ys, "xs": xs})


@register
class ResizeBilinear(_Resize):
    name = "resize_bilinear"
    tflite = ("RESIZE_BILINEAR",)
    kernels = {"resize_bilinear_f32": run_bilinear_f32, "resize_bilinear_s8": run_bilinear_s8}

    def check(self, node: Node, graph: Graph) -> None:
        super().check(node, graph)
        align, half = self.flags(node)
        expect(not (align and half), node, "align_corners and half_pixel_centers cannot both be set (as TFLM)")
        _, h, w, _, oh, ow = self.geometry(node, graph)
        tables = bilinear_f32 if graph.tensor(node.inputs[0]).dtype == "float32" else bilinear_s8
        for out_size, in_size in ((oh, h), (ow, w)):
            lo, hi = tables(out_size, in_size, align, half)[:2]
            # TFLM's 10-bit scale lands past the last row when upscaling by ~1000 or more (it reads beyond)
            expect(bool(np.all((lo >= 0) & (lo < in_size) & (hi >= 0) & (hi < in_size))), node,
                   f"scaling {h}x{w} to {oh}x{ow} reads outside the input in TFLM's arithmetic")

    def lower(self, node: Node, graph: Graph) -> Step:
        align, half = self.flags(node)
        n, h, w, c, oh, ow = self.geometry(node, graph)
        params = {"batches": n, "in_h": h, "in_w": w, "c": c, "out_h": oh, "out_w": ow}
        if graph.tensor(node.inputs[0]).dtype == "float32":
            y0, y1, ay, wy = bilinear_f32(oh, h, align, half)
            x0, x1, ax, wx = bilinear_f32(ow, w, align, half)
            consts = {"y0": y0, "y1": y1, "y_frac": ay, "y_rest": wy, "x0": x0, "x1": x1, "x_frac": ax, "x_rest": wx}
            kernel = "resize_bilinear_f32"
        else:
            y0, y1, dy = bilinear_s8(oh, h, align, half)
            x0, x1, dx = bilinear_s8(ow, w, align, half)
            reach = [int(np.max(np.abs((1 << 10) - d) + np.abs(d))) for d in (dy, dx)]
            expect(128 * reach[0] * reach[1] < 1 << 30, node, "int8 bilinear sums could leave int32")  # C sums int32
            consts = {"y0": y0, "y1": y1, "y_frac": dy, "x0": x0, "x1": x1, "x_frac": dx}
            kernel = "resize_bilinear_s8"
        return Step(kernel, node.name, [node.inputs[0]], [node.outputs[0]], params, consts,
                    macs=self.macs(node, graph))
