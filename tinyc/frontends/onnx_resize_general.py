"""ONNX Resize onto the IR's resize_general (tinyc.ops.resize_general) when no TFLite-style resize computes it:
cubic, antialias, keep_aspect_ratio_policy, exclude_outside, the half_pixel_symmetric and tf_crop_and_resize
coordinates, and nearest / linear weights TFLite's flags do not give. Only H and W of a 4-D NCHW input may change.
tinyc.frontends.onnx_resize calls it; it registers no converter itself.
"""

from __future__ import annotations

import math

from tinyc.frontends.onnx import _const_input, _Converter, _Ctx, _fail, _unsupported
from tinyc.ops.resize_general import MODES, NEAREST, TRANSFORMS


def needed(x: _Ctx) -> bool:
    """Whether the Resize (opset 11+) uses anything only resize_general has."""
    a = x.attrs
    return (a.get("mode", "nearest") == "cubic" or bool(a.get("antialias", 0))
            or a.get("keep_aspect_ratio_policy", "stretch") != "stretch" or bool(a.get("exclude_outside", 0))
            or a.get("coordinate_transformation_mode") in ("half_pixel_symmetric", "tf_crop_and_resize"))


def _text(v: object) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def convert(c: _Converter, x: _Ctx) -> None:
    """Resize (opset 11+) in full: its scales or sizes (with keep_aspect_ratio_policy), axes and roi."""
    a = x.attrs
    shape = c.shapes.get(x.input(0), ())
    rank = len(shape)
    if rank != 4:
        raise _unsupported(c, x, f"a {rank}-D input; only 4-D NCHW")
    axes = [int(v) % rank for v in a.get("axes", range(rank))]
    scales_v, sizes_v = _const_input(c, x, 2, "scales"), _const_input(c, x, 3, "sizes")
    scales, sizes = [1.0] * rank, list(shape)
    if sizes_v is not None and sizes_v.size:
        for ax, n in zip(axes, sizes_v.reshape(-1), strict=True):
            sizes[ax], scales[ax] = int(n), int(n) / shape[ax]
        policy = _text(a.get("keep_aspect_ratio_policy", "stretch"))
        if policy != "stretch":
            if policy not in ("not_larger", "not_smaller"):
                raise _fail(c, x, f"unknown keep_aspect_ratio_policy '{policy}'")
            pick = min if policy == "not_larger" else max
            s = pick(scales[ax] for ax in axes)
            for ax in axes:
                scales[ax], sizes[ax] = s, int(s * shape[ax] + 0.5)  # ONNX rounds half up
    elif scales_v is not None and scales_v.size:
        for ax, s in zip(axes, scales_v.reshape(-1), strict=True):
            scales[ax], sizes[ax] = float(s), math.floor(shape[ax] * float(s))
    else:
        raise _fail(c, x, "neither scales nor sizes")
    mode = _text(a.get("coordinate_transformation_mode", "half_pixel"))
    roi = [0.0] * rank + [1.0] * rank
    if mode == "tf_crop_and_resize":
        roi_v = _const_input(c, x, 1, "roi")
        if roi_v is None or roi_v.size != 2 * len(axes):
            raise _fail(c, x, f"tf_crop_and_resize needs a roi of {2 * len(axes)} values")
        flat = [float(v) for v in roi_v.reshape(-1)]
        for i, ax in enumerate(axes):
            roi[ax], roi[rank + ax] = flat[i], flat[len(axes) + i]
    emit(c, x, _text(a.get("mode", "nearest")), mode, _text(a.get("nearest_mode", "round_prefer_floor")),
         scales, sizes, roi)


def resized_input(c: _Converter, x: _Ctx) -> tuple[str, tuple[int, ...]]:
    """The Resize node's data input and its shape: a computed 4-D NCHW tensor, or a refusal."""
    src = x.input(0)
    if not src or src in c.consts:
        raise _unsupported(c, x, "a constant input")
    shape = c.shapes[src]
    if len(shape) != 4:
        raise _unsupported(c, x, f"a {len(shape)}-D input; only 4-D NCHW")
    return src, shape


def emit(c: _Converter, x: _Ctx, interp: str, mode: str, how: str, scales: list[float], sizes: list[int],
         roi: list[float] | None = None) -> None:
    """A resize_general node from the ONNX input's 4-D scales, sizes and roi (starts then ends)."""
    a = x.attrs
    src, shape = resized_input(c, x)
    roi = roi or [0.0] * 4 + [1.0] * 4
    if tuple(sizes[:2]) != shape[:2] or any(roi[i] != 0 or roi[4 + i] != 1 for i in (0, 1)):
        raise _unsupported(c, x, "resizing or cropping the batch or channel axis")
    interp = "linear" if interp == "bilinear" else interp
    if interp not in MODES or how not in NEAREST or mode not in TRANSFORMS:
        raise _unsupported(c, x, f"mode '{interp}', nearest_mode '{how}', coordinate_transformation_mode '{mode}'")
    if a.get("antialias", 0) and interp == "nearest":
        raise _fail(c, x, "antialias needs mode linear or cubic")
    if not all(s > 0 for s in scales):
        raise _fail(c, x, f"scales {scales} must be positive")
    out = c.new_value(x.outputs[0], tuple(sizes), "nhwc")
    attrs = {"size": (sizes[2], sizes[3]), "scales": (scales[2], scales[3]), "roi": (roi[2], roi[6], roi[3], roi[7]),
             "mode": interp, "coordinate_transformation_mode": mode, "nearest_mode": how,
             "cubic_coeff_a": float(a.get("cubic_coeff_a", -0.75)),
             "exclude_outside": bool(a.get("exclude_outside", 0)),
             "antialias": bool(a.get("antialias", 0)), "extrapolation_value": float(a.get("extrapolation_value", 0.0))}
    c._add_node("resize_general", x.name, [c.get(src, "nhwc")], [out], attrs)

