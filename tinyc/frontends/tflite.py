"""TFLite flatbuffers (int8 and float32) -> ir.Graph, read through the generated `tflite` schema bindings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions

from tinyc.errors import PATH_MAX, ModelError, TinycError, UnsupportedOpError, shown
from tinyc.frontends.tflite_detection import CONVERTERS as CUSTOM_CONVERTERS
from tinyc.frontends.tflite_signal import signal_converter
from tinyc.frontends.tflite_variables import Variables
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.ir.graph import check_shape, check_tensor
from tinyc.ops._common import same_padding

TENSOR_TYPES = {tflite.TensorType.FLOAT32: "float32", tflite.TensorType.INT8: "int8",
                tflite.TensorType.INT32: "int32", tflite.TensorType.UINT8: "uint8",
                tflite.TensorType.INT16: "int16", tflite.TensorType.INT64: "int64",
                tflite.TensorType.UINT32: "uint32", tflite.TensorType.UINT64: "uint64",
                tflite.TensorType.BOOL: "bool"}
ACTIVATIONS = {tflite.ActivationFunctionType.NONE: "none", tflite.ActivationFunctionType.RELU: "relu",
               tflite.ActivationFunctionType.RELU6: "relu6", tflite.ActivationFunctionType.RELU_N1_TO_1: "relu_n1_to_1"}
OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}


def load_tflite(path: Path) -> Graph:
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError(f"{path}: not a TFLite flatbuffer (missing 'TFL3' identifier)")
    try:
        return _Reader(data, path).graph()
    except TinycError:
        raise
    except Exception as exc:  # the generated bindings fail in many ways on corrupt offsets
        raise ModelError(f"{path}: malformed TFLite file ({type(exc).__name__}: {shown(exc, PATH_MAX)})") from None


class _Reader:
    def __init__(self, data: bytes, path: Path):
        self.path = path
        self.model = tflite.Model.GetRootAsModel(data, 0)
        self.variables = Variables(self.model, len(data), path)  # and CALL_ONCE's initialisation subgraph
        self.sub = self.model.Subgraphs(0)
        # every vector entry costs at least 4 bytes: a larger count is a corrupt length, not a big model
        for what, count in (("buffers", self.model.BuffersLength()), ("tensors", self.sub.TensorsLength()),
                            ("operators", self.sub.OperatorsLength()),
                            ("operator codes", self.model.OperatorCodesLength())):
            if count * 4 > len(data):
                raise ModelError(f"{path}: malformed TFLite file ({count} {what} in {len(data)} bytes)")
        self.g = Graph(name=path.stem, source=str(path))
        self.names: dict[int, str] = {}

    def graph(self) -> Graph:
        for i in range(self.sub.TensorsLength()):
            self._tensor(i)
        self.g.inputs = [self.names[self._index(i)] for i in self.sub.InputsAsNumpy()]
        self.g.outputs = [self.names[self._index(i)] for i in self.sub.OutputsAsNumpy()]
        for k in range(self.sub.OperatorsLength()):
            self._operator(k)
        from tinyc.passes.fold_constants import fold_constants

        fold_constants(self.g)  # SHAPE, FILL, constant-only subgraphs: TFLM computes them at run time
        self.g.prune_unused_tensors()
        self.g.verify()
        return self.g

    def _index(self, i: int) -> int:
        if not 0 <= i < self.sub.TensorsLength():
            raise ModelError(f"{self.path}: tensor index {i} out of range")
        return int(i)

    def _tensor(self, i: int) -> None:
        t = self.sub.Tensors(i)
        ttype = t.Type()
        if ttype == tflite.TensorType.RESOURCE:  # a variable's handle: no tensor in the IR (see Variables)
            self.names[i] = ""
            return
        if ttype not in TENSOR_TYPES:
            raise ModelError(f"{self.path}: tensor {i} has unsupported type {ttype}")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            raise ModelError(f"{self.path}: tensor {i} has a dynamic shape {list(shape)}")
        name = self.g.unique_name((t.Name() or b"").decode("utf-8", "replace") or f"t{i}")
        if 0 not in shape:  # an empty tensor is an unused placeholder (LSTM intermediates), pruned below
            check_shape(shape or (1,), TENSOR_TYPES[ttype], f"{shown(self.path, PATH_MAX)}: tensor '{shown(name)}'")
        quant = None
        q = t.Quantization()
        if q is not None and q.ScaleLength():
            scale, zp = q.ScaleAsNumpy(), q.ZeroPointAsNumpy()
            if not isinstance(zp, np.ndarray) or zp.size != scale.size:
                raise ModelError(f"{self.path}: tensor '{shown(name)}' has {scale.size} scales but not as many "
                                 "zero points")
            if np.any(zp < -(2**31)) or np.any(zp >= 2**31):
                raise ModelError(f"{self.path}: tensor '{shown(name)}' has a zero point beyond 32 bits")
            axis = int(q.QuantizedDimension()) if scale.size > 1 else None
            if axis is not None and len(shape) == 1 and shape[0] == scale.size:
                axis = 0  # a per-channel bias: TFLM ignores its quantized_dimension (person_detect has 3)
            quant = Quant(scale, zp, axis)
        data = None
        buf = self.model.Buffers(t.Buffer()) if 0 < t.Buffer() < self.model.BuffersLength() else None
        if buf is not None and buf.DataLength():
            raw = buf.DataAsNumpy()
            dtype = np.dtype(TENSOR_TYPES[ttype])
            if raw.size != math.prod(shape) * dtype.itemsize:
                raise ModelError(f"{self.path}: tensor '{shown(name)}' has {raw.size} bytes of data for shape "
                                 f"{list(shape)}")
            data = raw.view(dtype).reshape(shape)
        self.names[i] = name
        self.g.add_tensor(Tensor(name, shape or (1,), TENSOR_TYPES[ttype], quant, data))

    def _operator(self, k: int) -> None:
        op = self.sub.Operators(k)
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        op_name = OP_NAMES.get(builtin, f"builtin#{builtin}")
        if builtin == BuiltinOperator.CUSTOM:  # named by its custom code: TFLM's signal ops, its detection op
            op_name = (code.CustomCode() or b"").decode("utf-8", "replace") or "CUSTOM"
        ins = [self.names[self._index(i)] if i >= 0 else "" for i in op.InputsAsNumpy()]
        outs = [self.names[self._index(i)] for i in op.OutputsAsNumpy()]
        node_name = f"{op_name.lower()}_{k}"
        convert = CONVERTERS.get(op_name) if builtin != BuiltinOperator.CUSTOM else (
            signal_converter(op_name) or CUSTOM_CONVERTERS.get(op_name))
        if convert is None:
            raise UnsupportedOpError(op_name, node_name, str(self.path))
        converted = convert(self, op, ins)
        if converted is None:  # VAR_HANDLE, CALL_ONCE: resolved by Variables
            return
        ir_op, attrs = converted
        self.g.nodes.append(Node(ir_op, node_name, ins, outs, attrs))

    def options(self, op, cls):  # noqa: ANN001
        """The operator's options table read as `cls`, and whether it has one. A table of another type counts
        as absent (defaults), as in TFLM, whose generated accessor returns null on a type mismatch."""
        table = op.BuiltinOptions()
        opts = cls()
        present = table is not None and op.BuiltinOptionsType() == getattr(BuiltinOptions, cls.__name__)
        if present:
            opts.Init(table.Bytes, table.Pos)
        return opts, present

    def pads(self, x: str, kh: int, kw: int, stride: tuple[int, int], dil: tuple[int, int], padding: int) -> tuple:
        if padding == tflite.Padding.VALID:
            return (0, 0, 0, 0)
        h, w = self.g.tensor(x).shape[1:3]
        top, bottom = same_padding(h, kh, stride[0], dil[0])
        left, right = same_padding(w, kw, stride[1], dil[1])
        return (top, left, bottom, right)


def _activation(code: int) -> str:
    if code not in ACTIVATIONS:
        raise ModelError(f"unsupported fused activation {code}")
    return ACTIVATIONS[code]


def _conv(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.Conv2DOptions)
    w = r.g.tensor(ins[1]).shape
    stride, dil = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    return "conv2d", {"stride": stride, "dilation": dil, "pads": r.pads(ins[0], w[1], w[2], stride, dil, o.Padding()),
                      "activation": _activation(o.FusedActivationFunction())}


def _depthwise(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.DepthwiseConv2DOptions)
    w = r.g.tensor(ins[1]).shape
    stride, dil = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    return "depthwise_conv2d", {
        "stride": stride, "dilation": dil, "pads": r.pads(ins[0], w[1], w[2], stride, dil, o.Padding()),
        "activation": _activation(o.FusedActivationFunction()),
        "depth_multiplier": w[3] // max(r.g.tensor(ins[0]).shape[-1], 1)}


def _fully_connected(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.FullyConnectedOptions)
    if o.WeightsFormat() != tflite.FullyConnectedOptionsWeightsFormat.DEFAULT:
        raise ModelError(f"{r.path}: shuffled fully-connected weights are not supported")
    return "fully_connected", {"activation": _activation(o.FusedActivationFunction())}


def _pool(ir_op: str):  # noqa: ANN202
    def convert(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
        o, _ = r.options(op, tflite.Pool2DOptions)
        k, stride = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
        return ir_op, {"kernel": k, "stride": stride, "pads": r.pads(ins[0], *k, stride, (1, 1), o.Padding()),
                       "activation": _activation(o.FusedActivationFunction())}
    return convert


def _add(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, present = r.options(op, tflite.AddOptions)
    return "add", {"activation": _activation(o.FusedActivationFunction()) if present else "none"}


def _softmax(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, present = r.options(op, tflite.SoftmaxOptions)
    return "softmax", {"beta": float(o.Beta()) if present else 1.0}


def _reshape(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    del ins[1:]  # the optional shape tensor: the output tensor's shape is authoritative
    return "reshape", {}


def _relu(activation: str):  # noqa: ANN202
    return lambda r, op, ins: ("relu", {"activation": activation})


def _transpose(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    perm = r.g.tensor(ins[1]) if len(ins) > 1 and ins[1] else None
    if perm is None or not perm.is_const:
        raise ModelError(f"{r.path}: TRANSPOSE needs a constant permutation input")
    del ins[1:]
    return "transpose", {"perm": tuple(int(p) for p in perm.data.reshape(-1))}


def _variable(r: _Reader, op, ins: list[str], k: int) -> dict:  # noqa: ANN001
    """A recurrent op's variable (state) input k, taken out of the graph: the op owns its state, kept between
    invocations. Its dtype, shape and quantization stay in the node's attributes."""
    index = int(op.InputsAsNumpy()[k])
    if index < 0 or not r.sub.Tensors(index).IsVariable():
        raise ModelError(f"{r.path}: input {k} of a {'SVDF' if k == 4 else 'UNIDIRECTIONAL_SEQUENCE_LSTM'} "
                         "operator must be a variable (state) tensor")
    name = ins[k]
    t = r.g.tensor(name)
    check_tensor(t)  # it leaves the graph, and so the verifier's view: its shape and quantization are checked here
    ins[k] = ""
    q = t.quant
    return {"dtype": t.dtype, "shape": t.shape, "scale": q.s if q is not None else None,
            "zero_point": q.zp if q is not None else None}


def _lstm(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.UnidirectionalSequenceLSTMOptions)
    if o.FusedActivationFunction() != tflite.ActivationFunctionType.TANH:  # TFLM's kernel takes tanh only
        raise ModelError(f"{r.path}: UNIDIRECTIONAL_SEQUENCE_LSTM with a cell activation other than TANH "
                         f"({o.FusedActivationFunction()}) is not supported")
    attrs = {"cell_clip": float(o.CellClip()), "proj_clip": float(o.ProjClip()), "time_major": bool(o.TimeMajor()),
             "asymmetric_quantize_inputs": bool(o.AsymmetricQuantizeInputs())}
    if len(ins) == 24:
        attrs |= {"output_state": _variable(r, op, ins, 18), "cell_state": _variable(r, op, ins, 19)}
    return "unidirectional_sequence_lstm", attrs


def _svdf(r: _Reader, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    o, _ = r.options(op, tflite.SVDFOptions)
    attrs = {"rank": int(o.Rank()), "activation": _activation(o.FusedActivationFunction()),
             "asymmetric_quantize_inputs": bool(o.AsymmetricQuantizeInputs())}
    if len(ins) == 5:
        attrs["activation_state"] = _variable(r, op, ins, 4)
    return "svdf", attrs


CONVERTERS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": _pool("avg_pool2d"),
    "MAX_POOL_2D": _pool("max_pool2d"),
    "ADD": _add,
    "SOFTMAX": _softmax,
    "RESHAPE": _reshape,
    "SQUEEZE": _reshape,
    "RELU": _relu("relu"),
    "RELU6": _relu("relu6"),
    "RELU_N1_TO_1": _relu("relu_n1_to_1"),
    "TRANSPOSE": _transpose,
    "QUANTIZE": lambda r, op, ins: ("quantize", {}),
    "DEQUANTIZE": lambda r, op, ins: ("dequantize", {}),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _lstm,
    "SVDF": _svdf,
}

from tinyc.frontends.tflite_data import CONVERTERS as DATA_CONVERTERS  # noqa: E402  (movement, reductions)

CONVERTERS.update(DATA_CONVERTERS)

from tinyc.frontends.tflite_elementwise import CONVERTERS as ELEMENTWISE_CONVERTERS  # noqa: E402

CONVERTERS.update(ELEMENTWISE_CONVERTERS)

from tinyc.frontends.tflite_compute import CONVERTERS as COMPUTE_CONVERTERS  # noqa: E402  (TRANSPOSE_CONV, ...)

CONVERTERS.update(COMPUTE_CONVERTERS)

from tinyc.frontends.tflite_spatial import CONVERTERS as SPATIAL_CONVERTERS  # noqa: E402  (resize, L2 pool)

CONVERTERS.update(SPATIAL_CONVERTERS)

from tinyc.frontends.tflite_variables import CONVERTERS as VARIABLE_CONVERTERS  # noqa: E402  (resource variables)

CONVERTERS.update(VARIABLE_CONVERTERS)

from tinyc.frontends.tflite_misc import CONVERTERS as MISC_CONVERTERS  # noqa: E402  (comparisons, gathers, ...)

CONVERTERS.update(MISC_CONVERTERS)
