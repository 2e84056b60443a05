"""RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR and L2_POOL_2D as TFLite builtins (merged into tflite_ops.CONVERTERS);
the resize size becomes an int32 constant input, as the TFLite converter writes it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from tinyc.export.tflite_ops import OpSpec, _pool
from tinyc.ir import Graph, Node, Tensor

VERSIONS = {Op.RESIZE_NEAREST_NEIGHBOR: (3, 3), Op.RESIZE_BILINEAR: (3, 3), Op.L2_POOL_2D: (1, 1)}


def _resize(builtin: int, opt: int, prefix: str) -> Callable[[Node, Graph], OpSpec]:
    start, end = getattr(tflite, f"{prefix}Start"), getattr(tflite, f"{prefix}End")
    add_align, add_half = getattr(tflite, f"{prefix}AddAlignCorners"), getattr(tflite, f"{prefix}AddHalfPixelCenters")

    def convert(node: Node, graph: Graph) -> OpSpec:
        align, half = bool(node.attrs.get("align_corners", False)), bool(node.attrs.get("half_pixel_centers", False))
        size = np.array(node.attrs["size"], np.int32)
        size_input = Tensor(graph.unique_name(f"{node.outputs[0]}/size"), (2,), "int32", data=size)

        def options(b) -> int:  # noqa: ANN001
            start(b)
            add_align(b, align)
            add_half(b, half)
            return end(b)

        return OpSpec(builtin, opt, options, [size_input])
    return convert


CONVERTERS: dict[str, Callable[[Node, Graph], OpSpec]] = {
    "resize_nearest_neighbor": _resize(Op.RESIZE_NEAREST_NEIGHBOR, Opt.ResizeNearestNeighborOptions,
                                       "ResizeNearestNeighborOptions"),
    "resize_bilinear": _resize(Op.RESIZE_BILINEAR, Opt.ResizeBilinearOptions, "ResizeBilinearOptions"),
    "l2_pool2d": _pool(Op.L2_POOL_2D),
}
