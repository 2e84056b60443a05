"""TFLite converters of the data-movement, reduction, arg-max and cast ops (merged into tflite.CONVERTERS).

Index operands (begin/end/strides, paddings, axes, multiples, split sizes) must be constants and become node
attributes; the IR keeps TFLite's meaning of them (negative axes, masks), which the op modules resolve.
"""

from __future__ import annotations

import numpy as np
import tflite

from tinyc.errors import ModelError

MIRROR_MODES = {tflite.MirrorPadMode.REFLECT: "reflect", tflite.MirrorPadMode.SYMMETRIC: "symmetric"}


def const_operand(r, op_name: str, ins: list[str], k: int, what: str) -> np.ndarray:  # noqa: ANN001
    t = r.g.tensor(ins[k]) if k < len(ins) and ins[k] else None
    if t is None or not t.is_const:
        raise ModelError(f"{r.path}: {op_name} needs a constant {what} operand")
    return t.data


def ints(data: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in data.reshape(-1))


def _concatenation(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    from tinyc.frontends.tflite import _activation

    o, _ = r.options(op, tflite.ConcatenationOptions)
    return "concatenation", {"axis": int(o.Axis()), "activation": _activation(o.FusedActivationFunction())}


def _pack(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.PackOptions)
    return "pack", {"axis": int(o.Axis())}


def _unpack(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.UnpackOptions)
    return "unpack", {"axis": int(o.Axis())}


def _slice(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    begin, size = (ints(const_operand(r, "SLICE", ins, k, w)) for k, w in ((1, "begin"), (2, "size")))
    del ins[1:]
    return "slice", {"begin": begin, "size": size}


def _strided_slice(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.StridedSliceOptions)
    begin, end, strides = (ints(const_operand(r, "STRIDED_SLICE", ins, k, w))
                           for k, w in ((1, "begin"), (2, "end"), (3, "strides")))
    del ins[1:]
    return "strided_slice", {"begin": begin, "end": end, "strides": strides, "begin_mask": int(o.BeginMask()),
                             "end_mask": int(o.EndMask()), "shrink_axis_mask": int(o.ShrinkAxisMask()),
                             "ellipsis_mask": int(o.EllipsisMask()), "new_axis_mask": int(o.NewAxisMask()),
                             "offset": bool(o.Offset())}


def _split(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    axis = ints(const_operand(r, "SPLIT", ins, 0, "axis"))[0]
    del ins[0]
    return "split", {"axis": axis}


def _split_v(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    sizes = ints(const_operand(r, "SPLIT_V", ins, 1, "size_splits"))
    axis = ints(const_operand(r, "SPLIT_V", ins, 2, "axis"))[0]
    del ins[1:]
    return "split_v", {"axis": axis, "size_splits": sizes}


def _gather(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.GatherOptions)
    return "gather", {"axis": int(o.Axis()), "batch_dims": int(o.BatchDims())}


def _drop_operands(ir_op: str):  # noqa: ANN202
    """EXPAND_DIMS, BROADCAST_TO: the output tensor's shape says all; the shape/axis operand goes."""
    def convert(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
        del ins[1:]
        return ir_op, {}
    return convert


def _tile(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    multiples = ints(const_operand(r, "TILE", ins, 1, "multiples"))
    del ins[1:]
    return "tile", {"multiples": multiples}


def _block(ir_op: str, cls):  # noqa: ANN001, ANN202
    def convert(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
        o, _ = r.options(op, cls)
        return ir_op, {"block_size": int(o.BlockSize())}
    return convert


def _pads(r, name: str, ins: list[str]) -> tuple:  # noqa: ANN001
    p = const_operand(r, name, ins, 1, "paddings")
    return tuple((int(a), int(b)) for a, b in p.reshape(-1, 2))


def _pad(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    attrs: dict = {"pads": _pads(r, "PAD", ins)}
    if len(ins) > 2 and ins[2]:
        value = const_operand(r, "PADV2", ins, 2, "constant_values").reshape(-1)[0]
        attrs["value"] = float(value) if value.dtype.kind == "f" else int(value)
    del ins[1:]
    return "pad", attrs


def _mirror_pad(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.MirrorPadOptions)
    if o.Mode() not in MIRROR_MODES:
        raise ModelError(f"{r.path}: MIRROR_PAD mode {o.Mode()} is unknown")
    pads = _pads(r, "MIRROR_PAD", ins)
    del ins[1:]
    return "mirror_pad", {"pads": pads, "mode": MIRROR_MODES[o.Mode()]}


def _reducer(ir_op: str):  # noqa: ANN202
    def convert(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
        o, present = r.options(op, tflite.ReducerOptions)
        axes = ints(const_operand(r, ir_op.upper(), ins, 1, "axis"))
        del ins[1:]
        return ir_op, {"axes": axes, "keep_dims": bool(o.KeepDims()) if present else False}
    return convert


def _arg(ir_op: str):  # noqa: ANN202
    def convert(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
        axis = ints(const_operand(r, ir_op.upper(), ins, 1, "axis"))
        if len(axis) != 1:
            raise ModelError(f"{r.path}: {ir_op.upper()} takes one axis, got {list(axis)}")
        del ins[1:]
        return ir_op, {"axis": axis[0]}
    return convert


def _plain(ir_op: str):  # noqa: ANN202
    return lambda r, op, ins: (ir_op, {})


CONVERTERS = {
    "CONCATENATION": _concatenation,
    "PACK": _pack,
    "UNPACK": _unpack,
    "SLICE": _slice,
    "STRIDED_SLICE": _strided_slice,
    "SPLIT": _split,
    "SPLIT_V": _split_v,
    "GATHER": _gather,
    "EXPAND_DIMS": _drop_operands("reshape"),
    "BROADCAST_TO": _drop_operands("broadcast_to"),
    "TILE": _tile,
    "DEPTH_TO_SPACE": _block("depth_to_space", tflite.DepthToSpaceOptions),
    "SPACE_TO_DEPTH": _block("space_to_depth", tflite.SpaceToDepthOptions),
    "PAD": _pad,
    "PADV2": _pad,
    "MIRROR_PAD": _mirror_pad,
    "MEAN": _reducer("mean"),
    "SUM": _reducer("sum"),
    "REDUCE_MAX": _reducer("reduce_max"),
    "REDUCE_MIN": _reducer("reduce_min"),
    "REDUCE_ALL": _reducer("reduce_all"),
    "ARG_MAX": _arg("arg_max"),
    "ARG_MIN": _arg("arg_min"),
    "CAST": _plain("cast"),
    "SHAPE": _plain("shape"),
    "FILL": _plain("fill"),
    "ZEROS_LIKE": _plain("zeros_like"),
}
