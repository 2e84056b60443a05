"""ONNX Resize (opset 10 and later) and Upsample (7-9) onto the IR's TFLite-style 2-D resizes.

ONNX describes a resize by a coordinate transformation and a rounding (nearest) or linear weights per axis;
the IR's resize_nearest_neighbor / resize_bilinear by TFLite's align_corners / half_pixel_centers flags. The
converter computes, per spatial axis, the weights ONNX's formulas give each input position for every output
position and those of each TFLite flag combination (tinyc.ops.resize's own tables), and uses the first
combination whose weights agree; when none does, and for what TFLite has no flag for (cubic, antialias,
keep_aspect_ratio_policy, exclude_outside, half_pixel_symmetric, tf_crop_and_resize), it is the IR's own
resize_general (tinyc.frontends.onnx_resize_general). Only H and W may change.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tinyc.frontends import onnx_resize_general as general
from tinyc.frontends.onnx import _const_input, _Converter, _Ctx, _fail, _unsupported
from tinyc.ops.resize import bilinear_f32, nearest_index

FLAGS = ((False, False), (True, False), (False, True))  # TFLite (align_corners, half_pixel_centers)
TRANSFORMS = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn")


def _source(mode: str, x: int, scale: float, n_in: int) -> float:
    """ONNX's input coordinate of output position x (onnx.reference's _interpolate_1d_with_x): the output
    width in align_corners is the unrounded n_in * scale."""
    width = scale * n_in
    if mode == "align_corners":
        return 0.0 if width == 1 else x * (n_in - 1) / (width - 1)
    if mode == "asymmetric":
        return x / scale
    if mode == "pytorch_half_pixel":
        return -0.5 if width == 1 else (x + 0.5) / scale - 0.5
    if mode == "tf_half_pixel_for_nn":
        return (x + 0.5) / scale
    return (x + 0.5) / scale - 0.5  # half_pixel


def _nearest(v: float, how: str) -> int:
    if how == "floor":
        return math.floor(v)
    if how == "ceil":
        return math.ceil(v)
    if v - math.floor(v) == 0.5:
        return math.floor(v) if how == "round_prefer_floor" else math.ceil(v)
    return round(v)


def onnx_weights(linear: bool, mode: str, how: str, scale: float, n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in]: the weight of each input position in each output (edge positions repeat the border)."""
    w = np.zeros((n_out, n_in))
    for x in range(n_out):
        v = _source(mode, x, scale, n_in)
        if linear:
            lo = math.floor(v)
            r = v - lo
            w[x, min(max(lo, 0), n_in - 1)] += 1 - r
            w[x, min(max(lo + 1, 0), n_in - 1)] += r
        else:
            w[x, min(max(_nearest(v, how), 0), n_in - 1)] = 1
    return w


def tflite_weights(linear: bool, align: bool, half: bool, n_in: int, n_out: int) -> np.ndarray:
    w = np.zeros((n_out, n_in))
    if linear:
        lo, hi, frac, rest = bilinear_f32(n_out, n_in, align, half)
        for x in range(n_out):
            w[x, lo[x]] += float(rest[x])
            w[x, hi[x]] += float(frac[x])
    else:
        w[np.arange(n_out), nearest_index(n_out, n_in, align, half)] = 1
    return w


def _resize_to(c: _Converter, x: _Ctx, linear: bool, mode: str, how: str, scales: list[float],
               sizes: list[int]) -> None:
    src, shape = general.resized_input(c, x)
    if tuple(sizes[:2]) != shape[:2]:
        raise _unsupported(c, x, "resizing the batch or channel axis")
    flags = None
    for align, half in FLAGS:
        if all(np.allclose(onnx_weights(linear, mode, how, scales[a], shape[a], sizes[a]),
                           tflite_weights(linear, align, half, shape[a], sizes[a]), rtol=0, atol=1e-6)
               for a in (2, 3)):
            flags = align, half
            break
    if flags is None:  # no TFLite resize computes it
        general.emit(c, x, "linear" if linear else "nearest", mode, how, scales, sizes)
        return
    out = c.new_value(x.outputs[0], tuple(sizes), "nhwc")
    op = "resize_bilinear" if linear else "resize_nearest_neighbor"
    c._add_node(op, x.name, [c.get(src, "nhwc")], [out],
                {"size": (sizes[2], sizes[3]), "align_corners": flags[0], "half_pixel_centers": flags[1]})


def _mode(c: _Converter, x: _Ctx) -> bool:
    mode = x.attrs.get("mode", "nearest")
    if mode not in ("nearest", "linear", "bilinear"):
        raise _unsupported(c, x, f"mode '{mode}'; only nearest, linear and cubic (opset 11+)")
    return mode != "nearest"


def _resize(c: _Converter, x: _Ctx) -> None:
    if c.opset >= 11 and general.needed(x):
        general.convert(c, x)
        return
    linear = _mode(c, x)
    shape = c.shapes.get(x.input(0), ())
    rank = len(shape)
    if c.opset < 11:
        mode, how = "asymmetric", "floor"
        scales_v, sizes_v = _const_input(c, x, 1, "scales"), None
    else:
        mode = x.attrs.get("coordinate_transformation_mode", "half_pixel")
        how = x.attrs.get("nearest_mode", "round_prefer_floor")
        scales_v, sizes_v = _const_input(c, x, 2, "scales"), _const_input(c, x, 3, "sizes")
    if mode not in TRANSFORMS:
        raise _unsupported(c, x, f"coordinate_transformation_mode '{mode}'")
    if x.attrs.get("antialias", 0) or x.attrs.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise _unsupported(c, x, "antialias or keep_aspect_ratio_policy")
    axes = [int(a) % max(rank, 1) for a in x.attrs.get("axes", range(rank))]
    scales, sizes = [1.0] * rank, list(shape)
    if sizes_v is not None and sizes_v.size:
        for a, n in zip(axes, sizes_v.reshape(-1), strict=True):
            sizes[a], scales[a] = int(n), int(n) / shape[a]
    elif scales_v is not None and scales_v.size:
        for a, s in zip(axes, scales_v.reshape(-1), strict=True):
            scales[a], sizes[a] = float(s), math.floor(shape[a] * float(s))
    else:
        raise _fail(c, x, "neither scales nor sizes")
    _resize_to(c, x, linear, mode, how, scales, sizes)


def _upsample(c: _Converter, x: _Ctx) -> None:
    linear = _mode(c, x)
    shape = c.shapes.get(x.input(0), ())
    v = _const_input(c, x, 1, "scales") if c.opset >= 9 else np.asarray(x.attrs.get("scales", []))
    if v is None or v.size != len(shape):
        raise _fail(c, x, f"needs {len(shape)} scales")
    scales = [float(s) for s in v.reshape(-1)]
    sizes = [math.floor(d * s) for d, s in zip(shape, scales, strict=True)]
    _resize_to(c, x, linear, "asymmetric", "floor", scales, sizes)


CONVERTERS: dict[str, Callable[[_Converter, _Ctx], None]] = {"Resize": _resize, "Upsample": _upsample}
