"""The data-movement, reduction, arg-max and cast IR ops as TFLite builtins (merged into tflite_ops.CONVERTERS).

Attributes that TFLite holds in index operands (begin/end/strides, paddings, axes, ...) become int32
constants beside the node's inputs, as the TFLite converter writes them.
"""

from __future__ import annotations

from collections.abc import Callable

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from tinyc.export.tflite_ops import ACTIVATIONS, OpSpec
from tinyc.ir import Graph, Node, Tensor

TENSOR_TYPES = {"int32": tflite.TensorType.INT32, "int64": tflite.TensorType.INT64}
VERSIONS = {Op.CONCATENATION: (1, 2), Op.PACK: (1, 2), Op.UNPACK: (1, 2), Op.SLICE: (1, 2),
            Op.STRIDED_SLICE: (1, 2), Op.SPLIT: (1, 2), Op.SPLIT_V: (1, 2), Op.GATHER: (1, 2), Op.TILE: (1, 1),
            Op.BROADCAST_TO: (2, 2), Op.DEPTH_TO_SPACE: (1, 2), Op.SPACE_TO_DEPTH: (1, 2), Op.PAD: (1, 2),
            Op.PADV2: (1, 2), Op.MIRROR_PAD: (1, 1), Op.MEAN: (1, 2), Op.SUM: (1, 1), Op.REDUCE_MAX: (1, 2),
            Op.REDUCE_MIN: (1, 2), Op.REDUCE_PROD: (1, 1), Op.ARG_MAX: (1, 2), Op.ARG_MIN: (1, 2), Op.CAST: (1, 1),
            Op.SHAPE: (1, 1), Op.FILL: (1, 1), Op.ZEROS_LIKE: (1, 1), Op.REDUCE_ALL: (1, 1)}


def _ints(graph: Graph, node: Node, what: str, values, shape: tuple[int, ...] | None = None) -> Tensor:  # noqa: ANN001
    data = np.asarray(values, np.int32).reshape(shape or (-1,))
    return Tensor(graph.unique_name(f"{node.outputs[0]}/{what}"), data.shape or (1,), "int32", data=data)


def _options(start, end, *adds: tuple) -> Callable[[flatbuffers.Builder], int]:  # noqa: ANN001
    """An options writer: start, each (adder, value), end."""
    def write(b: flatbuffers.Builder) -> int:
        start(b)
        for add, value in adds:
            add(b, value)
        return end(b)
    return write


def _concatenation(node: Node, graph: Graph) -> OpSpec:
    act = ACTIVATIONS[node.attrs.get("activation", "none")]
    return OpSpec(Op.CONCATENATION, Opt.ConcatenationOptions, _options(
        tflite.ConcatenationOptionsStart, tflite.ConcatenationOptionsEnd,
        (tflite.ConcatenationOptionsAddAxis, int(node.attrs["axis"])),
        (tflite.ConcatenationOptionsAddFusedActivationFunction, act)))


def _pack(node: Node, graph: Graph) -> OpSpec:
    return OpSpec(Op.PACK, Opt.PackOptions, _options(
        tflite.PackOptionsStart, tflite.PackOptionsEnd, (tflite.PackOptionsAddValuesCount, len(node.inputs)),
        (tflite.PackOptionsAddAxis, int(node.attrs["axis"]))))


def _unpack(node: Node, graph: Graph) -> OpSpec:
    return OpSpec(Op.UNPACK, Opt.UnpackOptions, _options(
        tflite.UnpackOptionsStart, tflite.UnpackOptionsEnd, (tflite.UnpackOptionsAddNum, len(node.outputs)),
        (tflite.UnpackOptionsAddAxis, int(node.attrs["axis"]))))


def _slice(node: Node, graph: Graph) -> OpSpec:
    return OpSpec(Op.SLICE, Opt.SliceOptions, _options(tflite.SliceOptionsStart, tflite.SliceOptionsEnd),
                  [_ints(graph, node, "begin", node.attrs["begin"]), _ints(graph, node, "size", node.attrs["size"])])


def _strided_slice(node: Node, graph: Graph) -> OpSpec:
    a = node.attrs
    extra = [_ints(graph, node, k, a[k]) for k in ("begin", "end", "strides")]
    return OpSpec(Op.STRIDED_SLICE, Opt.StridedSliceOptions, _options(
        tflite.StridedSliceOptionsStart, tflite.StridedSliceOptionsEnd,
        (tflite.StridedSliceOptionsAddBeginMask, int(a.get("begin_mask", 0))),
        (tflite.StridedSliceOptionsAddEndMask, int(a.get("end_mask", 0))),
        (tflite.StridedSliceOptionsAddEllipsisMask, int(a.get("ellipsis_mask", 0))),
        (tflite.StridedSliceOptionsAddNewAxisMask, int(a.get("new_axis_mask", 0))),
        (tflite.StridedSliceOptionsAddShrinkAxisMask, int(a.get("shrink_axis_mask", 0))),
        (tflite.StridedSliceOptionsAddOffset, bool(a.get("offset", False)))), extra)


def _split(node: Node, graph: Graph) -> OpSpec:
    return OpSpec(Op.SPLIT, Opt.SplitOptions, _options(
        tflite.SplitOptionsStart, tflite.SplitOptionsEnd, (tflite.SplitOptionsAddNumSplits, len(node.outputs))),
        leading_inputs=[_ints(graph, node, "axis", [node.attrs["axis"]], ())])


def _split_v(node: Node, graph: Graph) -> OpSpec:
    sizes = node.attrs.get("size_splits") or [graph.tensor(n).shape[int(node.attrs["axis"])] for n in node.outputs]
    return OpSpec(Op.SPLIT_V, Opt.SplitVOptions, _options(
        tflite.SplitVOptionsStart, tflite.SplitVOptionsEnd, (tflite.SplitVOptionsAddNumSplits, len(node.outputs))),
        [_ints(graph, node, "size_splits", sizes), _ints(graph, node, "axis", [node.attrs["axis"]], ())])


def _gather(node: Node, graph: Graph) -> OpSpec:
    return OpSpec(Op.GATHER, Opt.GatherOptions, _options(
        tflite.GatherOptionsStart, tflite.GatherOptionsEnd, (tflite.GatherOptionsAddAxis, int(node.attrs["axis"])),
        (tflite.GatherOptionsAddBatchDims, int(node.attrs.get("batch_dims", 0)))))


def _tile(node: Node, graph: Graph) -> OpSpec:
    return OpSpec(Op.TILE, Opt.TileOptions, _options(tflite.TileOptionsStart, tflite.TileOptionsEnd),
                  [_ints(graph, node, "multiples", node.attrs["multiples"])])


def _broadcast_to(node: Node, graph: Graph) -> OpSpec:
    return OpSpec(Op.BROADCAST_TO, Opt.BroadcastToOptions, _options(tflite.BroadcastToOptionsStart,
                                                                    tflite.BroadcastToOptionsEnd),
                  [_ints(graph, node, "shape", graph.tensor(node.outputs[0]).shape)])


def _block(builtin: int, opt: int, start, add, end) -> Callable[[Node, Graph], OpSpec]:  # noqa: ANN001
    return lambda node, graph: OpSpec(builtin, opt, _options(start, end, (add, int(node.attrs["block_size"]))))


def _pad(node: Node, graph: Graph) -> OpSpec:
    pads = _ints(graph, node, "paddings", node.attrs["pads"], (-1, 2))
    if "value" not in node.attrs:
        return OpSpec(Op.PAD, Opt.PadOptions, _options(tflite.PadOptionsStart, tflite.PadOptionsEnd), [pads])
    y = graph.tensor(node.outputs[0])
    value = Tensor(graph.unique_name(f"{y.name}/constant_values"), (1,), y.dtype, y.quant,
                   np.array([node.attrs["value"]], y.np_dtype))
    return OpSpec(Op.PADV2, Opt.PadV2Options, _options(tflite.PadV2OptionsStart, tflite.PadV2OptionsEnd),
                  [pads, value])


def _mirror_pad(node: Node, graph: Graph) -> OpSpec:
    mode = {"reflect": tflite.MirrorPadMode.REFLECT, "symmetric": tflite.MirrorPadMode.SYMMETRIC}[node.attrs["mode"]]
    return OpSpec(Op.MIRROR_PAD, Opt.MirrorPadOptions, _options(
        tflite.MirrorPadOptionsStart, tflite.MirrorPadOptionsEnd, (tflite.MirrorPadOptionsAddMode, mode)),
        [_ints(graph, node, "paddings", node.attrs["pads"], (-1, 2))])


def _reducer(builtin: int) -> Callable[[Node, Graph], OpSpec]:
    def convert(node: Node, graph: Graph) -> OpSpec:
        return OpSpec(builtin, Opt.ReducerOptions, _options(
            tflite.ReducerOptionsStart, tflite.ReducerOptionsEnd,
            (tflite.ReducerOptionsAddKeepDims, bool(node.attrs.get("keep_dims", False)))),
            [_ints(graph, node, "axis", node.attrs["axes"])])
    return convert


def _arg(builtin: int, opt: int, start, add, end) -> Callable[[Node, Graph], OpSpec]:  # noqa: ANN001
    def convert(node: Node, graph: Graph) -> OpSpec:
        out = TENSOR_TYPES[graph.tensor(node.outputs[0]).dtype]
        axis = _ints(graph, node, "axis", [node.attrs["axis"]])
        return OpSpec(builtin, opt, _options(start, end, (add, out)), [axis])
    return convert


CONVERTERS: dict[str, Callable[[Node, Graph], OpSpec]] = {
    "concatenation": _concatenation,
    "pack": _pack,
    "unpack": _unpack,
    "slice": _slice,
    "strided_slice": _strided_slice,
    "split": _split,
    "split_v": _split_v,
    "gather": _gather,
    "tile": _tile,
    "broadcast_to": _broadcast_to,
    "depth_to_space": _block(Op.DEPTH_TO_SPACE, Opt.DepthToSpaceOptions, tflite.DepthToSpaceOptionsStart,
                             tflite.DepthToSpaceOptionsAddBlockSize, tflite.DepthToSpaceOptionsEnd),
    "space_to_depth": _block(Op.SPACE_TO_DEPTH, Opt.SpaceToDepthOptions, tflite.SpaceToDepthOptionsStart,
                             tflite.SpaceToDepthOptionsAddBlockSize, tflite.SpaceToDepthOptionsEnd),
    "pad": _pad,
    "mirror_pad": _mirror_pad,
    "mean": _reducer(Op.MEAN),
    "sum": _reducer(Op.SUM),
    "reduce_max": _reducer(Op.REDUCE_MAX),
    "reduce_min": _reducer(Op.REDUCE_MIN),
    "reduce_all": _reducer(Op.REDUCE_ALL),
    "arg_max": _arg(Op.ARG_MAX, Opt.ArgMaxOptions, tflite.ArgMaxOptionsStart, tflite.ArgMaxOptionsAddOutputType,
                    tflite.ArgMaxOptionsEnd),
    "arg_min": _arg(Op.ARG_MIN, Opt.ArgMinOptions, tflite.ArgMinOptionsStart, tflite.ArgMinOptionsAddOutputType,
                    tflite.ArgMinOptionsEnd),
    "cast": lambda node, graph: OpSpec(Op.CAST),
    "shape": lambda node, graph: OpSpec(Op.SHAPE, Opt.ShapeOptions, _options(
        tflite.ShapeOptionsStart, tflite.ShapeOptionsEnd,
        (tflite.ShapeOptionsAddOutType, TENSOR_TYPES[graph.tensor(node.outputs[0]).dtype]))),
    "fill": lambda node, graph: OpSpec(Op.FILL),
    "zeros_like": lambda node, graph: OpSpec(Op.ZEROS_LIKE),
}
