"""RESIZE_GENERAL: ONNX Resize's own semantics on float32 NHWC H and W (the cases no TFLite resize computes).

ONNX Resize (onnx.reference's op_resize) is separable: per axis, each output position x has a source coordinate
x_ori (by coordinate_transformation_mode), and a small set of input positions around it with coefficients (by
mode: nearest per nearest_mode, linear, cubic with cubic_coeff_a; antialias widens linear and cubic filters by
1/scale when downscaling; exclude_outside drops, and renormalizes away, positions outside the input; the others
repeat the border). That depends on the geometry only, so lowering computes it once, in float64 as ONNX, and
keeps per axis a table of taps: for output position o, the input indices idx[start[o]:start[o+1]] with float32
weights (duplicate clamped indices merged, zero weights dropped). tf_crop_and_resize positions whose source lies
outside the input have no taps and give extrapolation_value.

Both kernels compute, per output (oy, ox, c), in this order and in float32:
    acc = 0; for each y tap: { row = 0; for each x tap: row = row + wx * in[y][x][c]; acc = acc + wy * row }
so the reference and the C are the same bytes.
"""

from __future__ import annotations

import math

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register

F = np.float32
MAX_SIDE = 1 << 16
MODES = ("nearest", "linear", "cubic")
NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
TRANSFORMS = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
              "tf_half_pixel_for_nn", "tf_crop_and_resize")


def _source(mode: str, x: int, scale: float, n_in: int, n_out: int, roi: tuple[float, float]) -> float:
    """ONNX's _compute_x_ori: the input coordinate of output position x (width = the unrounded n_in * scale)."""
    width = scale * n_in
    if mode == "align_corners":
        return 0.0 if width == 1 else x * (n_in - 1) / (width - 1)
    if mode == "asymmetric":
        return x / scale
    if mode == "tf_crop_and_resize":
        v = (roi[1] - roi[0]) * (n_in - 1) / 2 if width == 1 else x * (roi[1] - roi[0]) * (n_in - 1) / (width - 1)
        return v + roi[0] * (n_in - 1)
    if mode == "pytorch_half_pixel":
        return -0.5 if width == 1 else (x + 0.5) / scale - 0.5
    if mode == "tf_half_pixel_for_nn":
        return (x + 0.5) / scale
    if mode == "half_pixel_symmetric":
        return n_in / 2 * (1 - n_out / width) + (x + 0.5) / scale - 0.5
    return (x + 0.5) / scale - 0.5  # half_pixel


def _cubic(x: float, a: float) -> float:
    x = abs(x)
    if x <= 1:
        return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
    return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a if x < 2 else 0.0


def _coeffs(interp: str, how: str, a: float, antialias: bool, ratio: float, scale: float) -> list[float]:
    """ONNX's coefficient functions for ratio in (0, 1] (1 when the source coordinate is an integer)."""
    if interp == "nearest":
        if ratio == 1:
            return [0.0, 1.0]
        up = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5, "floor": False, "ceil": True}
        return [0.0, 1.0] if up[how] else [1.0, 0.0]
    s = min(scale, 1.0) if antialias else 1.0
    if interp == "linear":
        if not antialias:
            return [1 - ratio, ratio]
        start = math.floor(-1 / s) + 1
        w = [min(max(1 - abs((i - ratio) * s), 0.0), 1.0) for i in range(start, 2 - start)]
    else:
        if not antialias:
            r = 1 - ratio
            return [((a * (ratio + 1) - 5 * a) * (ratio + 1) + 8 * a) * (ratio + 1) - 4 * a,
                    ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
                    ((a + 2) * r - (a + 3)) * r * r + 1,
                    ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a]
        start = math.floor(-2 / s) + 1
        w = [_cubic(s * (i - ratio), a) for i in range(start, 2 - start)]
    total = sum(w)
    return [v / total for v in w]


def axis_taps(attrs: dict, scale: float, n_in: int, n_out: int, roi: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """(start[n_out + 1], idx, weight): the taps of each output position along one axis."""
    interp, mode, how = attrs["mode"], attrs["coordinate_transformation_mode"], attrs["nearest_mode"]
    start, idx, weight = [0], [], []
    for x in range(n_out):
        v = _source(mode, x, scale, n_in, n_out, roi)
        if mode == "tf_crop_and_resize" and not 0 <= v <= n_in - 1:
            start.append(len(idx))  # no taps: extrapolation_value
            continue
        lo = math.floor(v)
        c = _coeffs(interp, how, float(attrs["cubic_coeff_a"]), bool(attrs["antialias"]), 1.0 if v == lo else v - lo,
                    scale)
        first = math.ceil(v) - len(c) // 2  # the len(c) (even) positions nearest v, ties to the smaller ones
        pos = range(first, first + len(c))
        if attrs["exclude_outside"]:
            c = [w if 0 <= p < n_in else 0.0 for w, p in zip(c, pos, strict=True)]
            total = sum(c)
            c = [w / total for w in c]
        merged: dict[int, float] = {}
        for w, p in zip(c, pos, strict=True):
            k = min(max(p, 0), n_in - 1)
            merged[k] = merged.get(k, 0.0) + w
        for k in sorted(merged):
            if F(merged[k]) != 0:
                idx.append(k)
                weight.append(merged[k])
        start.append(len(idx))
    return np.array(start, np.int32), np.array(idx, np.int32), np.array(weight, F)


def _padded(start: np.ndarray, idx: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, ...]:
    """A [n_out, K] view of the taps (K the most of any position), a mask of the real ones and of the positions
    without any (idx and weight are never empty, see lower)."""
    counts = np.diff(start)
    k = max(int(counts.max(initial=0)), 1)
    col = np.arange(k)[None, :]
    mask = col < counts[:, None]
    at = np.where(mask, start[:-1, None] + col, 0)
    return np.where(mask, idx[at], 0), np.where(mask, weight[at], 0).astype(F), mask, counts == 0


def run_resize_general(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    c = step.consts
    x = np.asarray(inputs[0], F)  # (N, B, H, W, C)
    yi, yw, ym, ye = _padded(c["y_start"], c["y_idx"], c["y_w"])
    xi, xw, xm, xe = _padded(c["x_start"], c["x_idx"], c["x_w"])
    shape = (x.shape[0], x.shape[1], yi.shape[0], xi.shape[0], x.shape[4])
    acc = np.zeros(shape, F)
    with np.errstate(all="ignore"):
        for ty in range(yi.shape[1]):
            rows = x[:, :, yi[:, ty]]
            row = np.zeros(shape, F)
            for tx in range(xi.shape[1]):
                row = np.where(xm[:, tx, None], row + xw[:, tx, None] * rows[:, :, :, xi[:, tx]], row)
            acc = np.where(ym[:, ty, None, None], acc + yw[:, ty, None, None] * row, acc)
    fill = F(step.params["extrapolation_value"])
    return [np.where(ye[:, None, None] | xe[:, None], fill, acc).astype(F)]


@register
class ResizeGeneral(OpDef):
    name = "resize_general"
    kernels = {"resize_general_f32": run_resize_general}
    dtypes = frozenset({("float32", "float32")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        a = node.attrs
        size = tuple(int(v) for v in a["size"])
        expect(len(x.shape) == 4 and len(size) == 2, node, f"needs a 4-D NHWC input and a size of 2 values, got "
               f"{list(x.shape)} and {list(size)}")
        expect(min(size) >= 1 and max(*size, *x.shape[1:3]) <= MAX_SIDE, node,
               f"size {list(size)} and input {list(x.shape)} must lie in 1..{MAX_SIDE}")
        want = (x.shape[0], *size, x.shape[3])
        expect(y.shape == want, node, f"output {list(y.shape)} is not {list(want)}")
        expect(a["mode"] in MODES and a["nearest_mode"] in NEAREST and a["coordinate_transformation_mode"]
               in TRANSFORMS, node, f"unknown mode {a['mode']} / {a['nearest_mode']} / "
               f"{a['coordinate_transformation_mode']}")
        expect(all(float(s) > 0 for s in a["scales"]), node, f"scales {list(a['scales'])} must be positive")
        expect(not (a["antialias"] and a["mode"] == "nearest"), node, "antialias needs mode linear or cubic")

    def tables(self, node: Node, graph: Graph) -> dict[str, np.ndarray]:
        _, h, w, _ = graph.tensor(node.inputs[0]).shape
        a = node.attrs
        oh, ow = (int(v) for v in a["size"])
        roi = [float(v) for v in a["roi"]]
        out = {}
        for axis, n_in, n_out, scale, r in (("y", h, oh, a["scales"][0], roi[0:2]), ("x", w, ow, a["scales"][1],
                                                                                    roi[2:4])):
            start, idx, weight = axis_taps(a, float(scale), n_in, n_out, (r[0], r[1]))
            out |= {f"{axis}_start": start, f"{axis}_idx": idx, f"{axis}_w": weight}
        return out

    def macs(self, node: Node, graph: Graph) -> int:
        t = self.tables(node, graph)
        _, _, _, ch = graph.tensor(node.inputs[0]).shape
        n = graph.tensor(node.inputs[0]).shape[0]
        return int(n * ch * np.diff(t["y_start"]).sum() * np.diff(t["x_start"]).sum())

    def lower(self, node: Node, graph: Graph) -> Step:
        n, h, w, c = graph.tensor(node.inputs[0]).shape
        oh, ow = (int(v) for v in node.attrs["size"])
        consts = self.tables(node, graph)
        for axis in ("y", "x"):  # C has no empty arrays: an axis of only extrapolated positions gets one unread tap
            if consts[f"{axis}_idx"].size == 0:
                consts[f"{axis}_idx"], consts[f"{axis}_w"] = np.zeros(1, np.int32), np.zeros(1, F)
        params = {"batches": n, "in_h": h, "in_w": w, "c": c, "out_h": oh, "out_w": ow,
                  "extrapolation_value": float(F(node.attrs["extrapolation_value"]))}
        return Step("resize_general_f32", node.name, [node.inputs[0]], [node.outputs[0]], params, consts,
                    macs=self.macs(node, graph))
