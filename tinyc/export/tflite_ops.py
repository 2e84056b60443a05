"""Each IR op as a TFLite builtin: its operator code, version, options table and extra constant inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from tinyc.errors import TinycError
from tinyc.ir import Graph, Node, Tensor
from tinyc.ops._common import same_padding

ACTIVATIONS = {"none": tflite.ActivationFunctionType.NONE, "relu": tflite.ActivationFunctionType.RELU,
               "relu6": tflite.ActivationFunctionType.RELU6,
               "relu_n1_to_1": tflite.ActivationFunctionType.RELU_N1_TO_1}
RELU_OPS = {"relu": Op.RELU, "relu6": Op.RELU6, "relu_n1_to_1": Op.RELU_N1_TO_1}
# (float32 version, int8 version) of each builtin, as the TFLite converter writes them.
VERSIONS = {Op.CONV_2D: (1, 3), Op.DEPTHWISE_CONV_2D: (1, 3), Op.FULLY_CONNECTED: (1, 4), Op.ADD: (1, 2),
            Op.AVERAGE_POOL_2D: (1, 2), Op.MAX_POOL_2D: (1, 2), Op.SOFTMAX: (1, 2), Op.RESHAPE: (1, 1),
            Op.TRANSPOSE: (1, 2), Op.RELU: (1, 2), Op.RELU6: (1, 2), Op.RELU_N1_TO_1: (1, 1),
            Op.QUANTIZE: (2, 2), Op.DEQUANTIZE: (2, 2)}

OptionsWriter = Callable[[flatbuffers.Builder], int]


@dataclass
class OpSpec:
    builtin: int
    options_type: int = Opt.NONE
    options: OptionsWriter | None = None  # writes the options table, returns its offset
    extra_inputs: list[Tensor] = field(default_factory=list)  # constants appended to the node's inputs
    custom_code: str = ""  # for builtin CUSTOM: the op's custom code and its flexbuffer options
    custom_options: bytes = b""
    leading_inputs: list[Tensor] = field(default_factory=list)  # constants put before them (SPLIT's axis)
    variables: dict[int, Tensor] = field(default_factory=dict)  # variable (state) tensors at these input slots
    order: tuple[int, ...] | None = None  # the written inputs (leading, node's, extra) in this order

    def version(self, int8: bool) -> int:
        return VERSIONS[self.builtin][1 if int8 else 0]


def op_spec(node: Node, graph: Graph) -> OpSpec:
    """The TFLite form of one node; a TinycError when TFLite cannot express it."""
    convert = CONVERTERS.get(node.op)
    if convert is None:
        raise TinycError(f"node '{node.name}': op {node.op} has no TFLite builtin in tinyc's writer")
    return convert(node, graph)


def _activation(node: Node) -> int:
    act = node.attrs.get("activation", "none")
    if act not in ACTIVATIONS:
        raise TinycError(f"node '{node.name}' ({node.op}): activation '{act}' has no TFLite equivalent")
    return ACTIVATIONS[act]


def _padding(node: Node, graph: Graph, kh: int, kw: int) -> int:
    """SAME or VALID: the node's explicit pads must be one of the two, as TFLite has nothing else."""
    pads = tuple(int(p) for p in node.attrs.get("pads", (0, 0, 0, 0)))
    if pads == (0, 0, 0, 0):
        return tflite.Padding.VALID
    h, w = graph.tensor(node.inputs[0]).shape[1:3]
    sh, sw = node.attrs.get("stride", (1, 1))
    dh, dw = node.attrs.get("dilation", (1, 1))
    top, bottom = same_padding(h, kh, sh, dh)
    left, right = same_padding(w, kw, sw, dw)
    if pads == (top, left, bottom, right):
        return tflite.Padding.SAME
    raise TinycError(f"node '{node.name}' ({node.op}): padding {list(pads)} (top, left, bottom, right) "
                     f"is neither VALID nor TFLite's SAME {[top, left, bottom, right]}; TFLite cannot "
                     "express it (an explicit PAD op is not written)")


def _conv(node: Node, graph: Graph) -> OpSpec:
    w = graph.tensor(node.inputs[1]).shape
    padding = _padding(node, graph, w[1], w[2])
    (sh, sw), (dh, dw) = node.attrs.get("stride", (1, 1)), node.attrs.get("dilation", (1, 1))
    act = _activation(node)

    def options(b: flatbuffers.Builder) -> int:
        tflite.Conv2DOptionsStart(b)
        tflite.Conv2DOptionsAddPadding(b, padding)
        tflite.Conv2DOptionsAddStrideH(b, sh)
        tflite.Conv2DOptionsAddStrideW(b, sw)
        tflite.Conv2DOptionsAddDilationHFactor(b, dh)
        tflite.Conv2DOptionsAddDilationWFactor(b, dw)
        tflite.Conv2DOptionsAddFusedActivationFunction(b, act)
        return tflite.Conv2DOptionsEnd(b)

    return OpSpec(Op.CONV_2D, Opt.Conv2DOptions, options)


def _depthwise(node: Node, graph: Graph) -> OpSpec:
    w = graph.tensor(node.inputs[1]).shape
    padding = _padding(node, graph, w[1], w[2])
    (sh, sw), (dh, dw) = node.attrs.get("stride", (1, 1)), node.attrs.get("dilation", (1, 1))
    act, multiplier = _activation(node), int(node.attrs.get("depth_multiplier", 1))

    def options(b: flatbuffers.Builder) -> int:
        tflite.DepthwiseConv2DOptionsStart(b)
        tflite.DepthwiseConv2DOptionsAddPadding(b, padding)
        tflite.DepthwiseConv2DOptionsAddStrideH(b, sh)
        tflite.DepthwiseConv2DOptionsAddStrideW(b, sw)
        tflite.DepthwiseConv2DOptionsAddDilationHFactor(b, dh)
        tflite.DepthwiseConv2DOptionsAddDilationWFactor(b, dw)
        tflite.DepthwiseConv2DOptionsAddDepthMultiplier(b, multiplier)
        tflite.DepthwiseConv2DOptionsAddFusedActivationFunction(b, act)
        return tflite.DepthwiseConv2DOptionsEnd(b)

    return OpSpec(Op.DEPTHWISE_CONV_2D, Opt.DepthwiseConv2DOptions, options)


def _fully_connected(node: Node, graph: Graph) -> OpSpec:
    x, w, y = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
    act = _activation(node)
    # keep_num_dims: the output keeps the input's leading dimensions instead of being [rows, units]
    keep = len(y.shape) > 2 and y.shape[:-1] == x.shape[:-1] and y.shape[-1] == w.shape[0]

    def options(b: flatbuffers.Builder) -> int:
        tflite.FullyConnectedOptionsStart(b)
        tflite.FullyConnectedOptionsAddFusedActivationFunction(b, act)
        tflite.FullyConnectedOptionsAddKeepNumDims(b, keep)
        return tflite.FullyConnectedOptionsEnd(b)

    return OpSpec(Op.FULLY_CONNECTED, Opt.FullyConnectedOptions, options)


def _pool(builtin: int) -> Callable[[Node, Graph], OpSpec]:
    def convert(node: Node, graph: Graph) -> OpSpec:
        kh, kw = node.attrs["kernel"]
        padding = _padding(node, graph, kh, kw)
        sh, sw = node.attrs.get("stride", (1, 1))
        act = _activation(node)

        def options(b: flatbuffers.Builder) -> int:
            tflite.Pool2DOptionsStart(b)
            tflite.Pool2DOptionsAddPadding(b, padding)
            tflite.Pool2DOptionsAddStrideH(b, sh)
            tflite.Pool2DOptionsAddStrideW(b, sw)
            tflite.Pool2DOptionsAddFilterHeight(b, kh)
            tflite.Pool2DOptionsAddFilterWidth(b, kw)
            tflite.Pool2DOptionsAddFusedActivationFunction(b, act)
            return tflite.Pool2DOptionsEnd(b)

        return OpSpec(builtin, Opt.Pool2DOptions, options)

    return convert


def _add(node: Node, graph: Graph) -> OpSpec:
    act = _activation(node)

    def options(b: flatbuffers.Builder) -> int:
        tflite.AddOptionsStart(b)
        tflite.AddOptionsAddFusedActivationFunction(b, act)
        return tflite.AddOptionsEnd(b)

    return OpSpec(Op.ADD, Opt.AddOptions, options)


def _softmax(node: Node, graph: Graph) -> OpSpec:
    beta = float(node.attrs.get("beta", 1.0))

    def options(b: flatbuffers.Builder) -> int:
        tflite.SoftmaxOptionsStart(b)
        tflite.SoftmaxOptionsAddBeta(b, beta)
        return tflite.SoftmaxOptionsEnd(b)

    return OpSpec(Op.SOFTMAX, Opt.SoftmaxOptions, options)


def _int32_const(graph: Graph, base: str, values: tuple[int, ...]) -> Tensor:
    return Tensor(graph.unique_name(base), (len(values),), "int32", data=np.array(values, np.int32))


def _reshape(node: Node, graph: Graph) -> OpSpec:
    shape = graph.tensor(node.outputs[0]).shape

    def options(b: flatbuffers.Builder) -> int:
        new_shape = b.CreateNumpyVector(np.array(shape, np.int32))
        tflite.ReshapeOptionsStart(b)
        tflite.ReshapeOptionsAddNewShape(b, new_shape)
        return tflite.ReshapeOptionsEnd(b)

    shape_input = _int32_const(graph, f"{node.outputs[0]}/shape", shape)
    return OpSpec(Op.RESHAPE, Opt.ReshapeOptions, options, [shape_input])


def _transpose(node: Node, graph: Graph) -> OpSpec:
    perm = tuple(int(p) for p in node.attrs["perm"])

    def options(b: flatbuffers.Builder) -> int:
        tflite.TransposeOptionsStart(b)
        return tflite.TransposeOptionsEnd(b)

    perm_input = _int32_const(graph, f"{node.outputs[0]}/perm", perm)
    return OpSpec(Op.TRANSPOSE, Opt.TransposeOptions, options, [perm_input])


def _relu(node: Node, graph: Graph) -> OpSpec:
    act = node.attrs.get("activation", "none")
    if act not in RELU_OPS:
        raise TinycError(f"node '{node.name}' (relu): activation '{act}' has no TFLite builtin")
    return OpSpec(RELU_OPS[act])


CONVERTERS: dict[str, Callable[[Node, Graph], OpSpec]] = {
    "conv2d": _conv,
    "depthwise_conv2d": _depthwise,
    "fully_connected": _fully_connected,
    "avg_pool2d": _pool(Op.AVERAGE_POOL_2D),
    "max_pool2d": _pool(Op.MAX_POOL_2D),
    "add": _add,
    "softmax": _softmax,
    "reshape": _reshape,
    "transpose": _transpose,
    "relu": _relu,
    "quantize": lambda node, graph: OpSpec(Op.QUANTIZE),
    "dequantize": lambda node, graph: OpSpec(Op.DEQUANTIZE),
}

from tinyc.export.tflite_data import CONVERTERS as DATA_CONVERTERS  # noqa: E402  (movement, reductions)
from tinyc.export.tflite_data import VERSIONS as DATA_VERSIONS  # noqa: E402

CONVERTERS.update(DATA_CONVERTERS)
VERSIONS.update(DATA_VERSIONS)

from tinyc.export.tflite_elementwise import CONVERTERS as ELEMENTWISE_CONVERTERS  # noqa: E402
from tinyc.export.tflite_elementwise import VERSIONS as ELEMENTWISE_VERSIONS  # noqa: E402

CONVERTERS.update(ELEMENTWISE_CONVERTERS)
VERSIONS.update(ELEMENTWISE_VERSIONS)

from tinyc.export.tflite_signal import CONVERTERS as SIGNAL_CONVERTERS  # noqa: E402  (TFLM's signal custom ops)
from tinyc.export.tflite_signal import VERSIONS as SIGNAL_VERSIONS  # noqa: E402

CONVERTERS.update(SIGNAL_CONVERTERS)
VERSIONS.update(SIGNAL_VERSIONS)

from tinyc.export.tflite_detection import CONVERTERS as DETECTION_CONVERTERS  # noqa: E402  (CUSTOM, as signal's)

CONVERTERS.update(DETECTION_CONVERTERS)

from tinyc.export.tflite_recurrent import CONVERTERS as RECURRENT_CONVERTERS  # noqa: E402  (LSTM, SVDF)
from tinyc.export.tflite_recurrent import VERSIONS as RECURRENT_VERSIONS  # noqa: E402

CONVERTERS.update(RECURRENT_CONVERTERS)
VERSIONS.update(RECURRENT_VERSIONS)

from tinyc.export.tflite_compute import CONVERTERS as COMPUTE_CONVERTERS  # noqa: E402  (TRANSPOSE_CONV, ...)
from tinyc.export.tflite_compute import VERSIONS as COMPUTE_VERSIONS  # noqa: E402

CONVERTERS.update(COMPUTE_CONVERTERS)
VERSIONS.update(COMPUTE_VERSIONS)

from tinyc.export.tflite_spatial import CONVERTERS as SPATIAL_CONVERTERS  # noqa: E402  (resize, L2 pool)
from tinyc.export.tflite_spatial import VERSIONS as SPATIAL_VERSIONS  # noqa: E402

CONVERTERS.update(SPATIAL_CONVERTERS)
VERSIONS.update(SPATIAL_VERSIONS)

from tinyc.export.tflite_misc import CONVERTERS as MISC_CONVERTERS  # noqa: E402  (comparisons, gathers, ...)
from tinyc.export.tflite_misc import VERSIONS as MISC_VERSIONS  # noqa: E402

CONVERTERS.update(MISC_CONVERTERS)
VERSIONS.update(MISC_VERSIONS)
