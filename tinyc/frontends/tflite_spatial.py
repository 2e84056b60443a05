"""TFLite converters of RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR and L2_POOL_2D (merged into tflite.CONVERTERS).

The resize ops' size operand must be a constant (TFLM requires it too) and becomes the node's `size` attribute.
"""

from __future__ import annotations

import tflite

from tinyc.errors import ModelError
from tinyc.frontends.tflite_data import const_operand, ints


def _resize(ir_op: str, cls):  # noqa: ANN001, ANN202
    def convert(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
        o, present = r.options(op, cls)
        size = ints(const_operand(r, ir_op.upper(), ins, 1, "size"))
        if len(size) != 2:
            raise ModelError(f"{r.path}: {ir_op.upper()} needs a size of 2 values, got {len(size)}")
        del ins[1:]
        return ir_op, {"size": size, "align_corners": bool(o.AlignCorners()) if present else False,
                       "half_pixel_centers": bool(o.HalfPixelCenters()) if present else False}
    return convert


def _l2_pool(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    from tinyc.frontends.tflite import _pool

    return _pool("l2_pool2d")(r, op, ins)


CONVERTERS = {
    "RESIZE_NEAREST_NEIGHBOR": _resize("resize_nearest_neighbor", tflite.ResizeNearestNeighborOptions),
    "RESIZE_BILINEAR": _resize("resize_bilinear", tflite.ResizeBilinearOptions),
    "L2_POOL_2D": _l2_pool,
}
