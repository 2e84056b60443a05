"""ONNX (float32, opset 8 and later) -> ir.Graph.

ONNX activations are NCHW, the IR's are NHWC. Every ONNX value is held in the IR in its ONNX
layout ("onnx") and/or channels-last ("nhwc": NCHW -> NHWC, and NCL -> [N, 1, L, C] so that 1-D
convolutions and pools run as 2-D ones of height 1); each converter asks for the layout it needs
and a `transpose` node is inserted (once per value and layout) where the value is not yet held
that way. Graph inputs and outputs keep their ONNX names and shapes, so a user feeds and reads
NCHW arrays. Constants are folded (onnx's reference evaluator runs every node whose inputs are all
known), so shape subgraphs (Shape -> Gather -> Concat -> Reshape) disappear. Afterwards
tinyc.passes turns transposes that move nothing into reshapes, folds biases, batch norms and
activations into the producing conv / fully-connected nodes and removes dead code.

The file is untrusted: any failure to parse or check it is a one-line ModelError; an operator
without a conversion is an UnsupportedOpError naming the op, the node and the file.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tinyc.errors import ModelError, TinycError, UnsupportedOpError, shown
from tinyc.ir import Graph, Node, Tensor
from tinyc.ir.graph import check_shape
from tinyc.ir.tensor import DTYPES
from tinyc.ops._common import window_out_size

MIN_OPSET = 8
MAX_FOLDED_ELEMENTS = 1 << 26  # refuse to materialise constants beyond this (hostile files)
TO_NHWC, TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)


def nhwc_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The IR shape of an ONNX NCHW value, or of an NCL value (1-D windows) as [N, 1, L, C]."""
    if len(shape) == 4:
        return (shape[0], shape[2], shape[3], shape[1])
    return (shape[0], 1, shape[2], shape[1])


def nhwc_const(value: np.ndarray) -> np.ndarray:
    """A constant of ONNX rank 3 or 4 (already broadcast to that rank) in the IR's channels-last layout."""
    return value.transpose(TO_NHWC) if value.ndim == 4 else value.transpose(0, 2, 1)[:, None]


def load_onnx(path: str | Path, optimize: bool = True) -> Graph:
    """Read an ONNX model; with optimize, run tinyc.passes.run_default_passes on the result."""
    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # protobuf decoding errors of many kinds
        raise ModelError(f"{path}: malformed ONNX file ({_one_line(exc)})") from None
    return convert_model(model, path, optimize)


def convert_model(model: onnx.ModelProto, path: str | Path, optimize: bool = True) -> Graph:
    """An ONNX model already in memory -> ir.Graph; `path` names it in errors (the ONNX backend's models)."""
    path = Path(path)
    _decode_names(model.graph)
    for t in _all_tensors(model.graph):
        if t.data_location == TensorProto.EXTERNAL:
            raise ModelError(f"{path}: tensor '{shown(t.name)}' keeps its data in an external file, "
                             "which tinyc does not read")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ModelError(f"{path}: malformed ONNX file ({_one_line(exc)})") from None
    try:
        graph = _Converter(model, path).graph()
    except TinycError:
        raise
    except Exception as exc:  # shape inference, the reference evaluator or numpy on inconsistent contents
        raise ModelError(f"{path}: malformed ONNX file ({_one_line(exc)})") from None
    if optimize:
        from tinyc.passes import run_default_passes

        graph = run_default_passes(graph)
    return graph


def _all_tensors(graph: onnx.GraphProto):  # noqa: ANN202
    """Every TensorProto of the graph: initializers and tensor attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                yield a.t
            elif a.type == onnx.AttributeProto.TENSORS:
                yield from a.tensors
            elif a.type == onnx.AttributeProto.GRAPH:
                yield from _all_tensors(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield from _all_tensors(g)


def _one_line(exc: BaseException) -> str:
    text = shown(" ".join(str(exc).split()), 300)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _text(value: str | bytes) -> str:
    """A name as text: protobuf hands back a string field that is not valid UTF-8 as bytes."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _decode_names(graph: onnx.GraphProto) -> None:
    """Every name of the graph (and its subgraphs) as text, invalid UTF-8 replaced (U+FFFD) everywhere alike."""
    graph.name = _text(graph.name)
    for v in list(graph.input) + list(graph.output) + list(graph.value_info) + list(graph.initializer):
        v.name = _text(v.name)
    for node in graph.node:
        node.name, node.op_type, node.domain = _text(node.name), _text(node.op_type), _text(node.domain)
        for names in (node.input, node.output):
            names[:] = [_text(n) for n in names]
        for a in node.attribute:
            a.name = _text(a.name)
            if a.type == onnx.AttributeProto.GRAPH:
                _decode_names(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    _decode_names(g)


def _static_shape(type_proto: onnx.TypeProto) -> tuple[int, ...] | None:
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    dims = type_proto.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims):
        return None
    return tuple(int(d.dim_value) for d in dims)


class _Converter:
    def __init__(self, model: onnx.ModelProto, path: Path):
        self.path = path
        self.model = model
        opsets = {imp.domain or "ai.onnx": imp.version for imp in model.opset_import}
        if "ai.onnx" not in opsets:
            raise ModelError(f"{path}: model imports no default-domain (ai.onnx) opset")
        self.opset = int(opsets["ai.onnx"])
        if self.opset < MIN_OPSET:
            raise ModelError(f"{path}: opset {self.opset} is older than the oldest supported ({MIN_OPSET}); "
                             "upgrade it with onnx.version_converter")
        self.g = Graph(name=model.graph.name or path.stem, source=str(path))
        self.consts: dict[str, np.ndarray] = {}  # ONNX name -> value, ONNX layout
        self.shapes: dict[str, tuple[int, ...]] = {}  # ONNX name -> ONNX shape of each activation
        self.vals: dict[str, dict[str, str]] = {}  # ONNX name -> {layout: IR tensor name}
        self.node_names: set[str] = set()
        self.reserved: set[str] = set()
        self.inferred: dict[str, tuple[int, ...]] = {}

    # --- reading the model ---------------------------------------------------------------------

    def graph(self) -> Graph:
        model = self.model
        graph = model.graph
        init_names = {t.name for t in graph.initializer}
        self.reserved = ({v.name for v in graph.input} | {v.name for v in graph.output} | init_names
                         | {o for n in graph.node for o in n.output})
        for t in graph.initializer:
            self.consts[t.name] = self._tensor_value(t)
        inputs = [v for v in graph.input if v.name not in init_names]
        for v in inputs:
            self._fix_input_dims(v)
        inferred_model = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False,
                                                           data_prop=True)
        for v in list(inferred_model.graph.value_info) + list(inferred_model.graph.output):
            shape = _static_shape(v.type)
            if shape is not None:
                self.inferred[v.name] = shape
        for v in inputs:
            self._input(v)
        self.g.inputs = [v.name for v in inputs]
        for index, node in enumerate(graph.node):
            self._node(node, index)
        for v in graph.output:
            self.g.outputs.append(self._output(v.name))
        from tinyc.frontends.onnx_qdq import lower_quantized

        lower_quantized(self)  # dequantize -> op -> quantize chains onto int8 kernels
        self.g.prune_unused_tensors()
        self.g.verify()
        return self.g

    def _tensor_value(self, t: onnx.TensorProto) -> np.ndarray:
        if t.data_location == TensorProto.EXTERNAL:
            raise ModelError(f"{self.path}: tensor '{shown(t.name)}' keeps its data in an external file, "
                             "which tinyc does not read")
        if any(d < 0 for d in t.dims) or math.prod(t.dims) > MAX_FOLDED_ELEMENTS:
            raise ModelError(f"{self.path}: tensor '{shown(t.name)}' has dimensions {list(t.dims)}")
        return numpy_helper.to_array(t)

    def _fix_input_dims(self, v: onnx.ValueInfoProto) -> None:
        """Dynamic dimensions become 1 in the batch position; anywhere else they are an error."""
        if not v.type.HasField("tensor_type"):
            raise ModelError(f"{self.path}: graph input '{shown(v.name)}' is not a tensor")
        if not v.type.tensor_type.HasField("shape"):
            raise ModelError(f"{self.path}: graph input '{shown(v.name)}' has no shape")
        for axis, d in enumerate(v.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if axis != 0:
                what = d.dim_param or "unknown"
                raise ModelError(f"{self.path}: graph input '{shown(v.name)}' has dynamic dimension '{shown(what)}' "
                                 f"at axis {axis}; only the batch (axis 0) may be dynamic")
            d.Clear()
            d.dim_value = 1

    def _input(self, v: onnx.ValueInfoProto) -> None:
        elem = v.type.tensor_type.elem_type
        if elem != TensorProto.FLOAT:
            kind = TensorProto.DataType.Name(elem).lower()
            raise ModelError(f"{self.path}: graph input '{shown(v.name)}' is {kind}; only float32 inputs are read")
        shape = tuple(int(d.dim_value) for d in v.type.tensor_type.shape.dim)
        check_shape(shape, "float32", f"{self.path}: graph input '{shown(v.name)}'")
        self.g.add_tensor(Tensor(v.name, shape, "float32"))
        self.shapes[v.name] = shape
        self.vals[v.name] = {"onnx": v.name}

    def _output(self, name: str) -> str:
        if name in self.consts:
            return self._const_output(name)
        if name not in self.vals:
            raise ModelError(f"{self.path}: graph output '{shown(name)}' is never produced")
        ir = self.get(name, "onnx")
        if ir == name:
            return name
        if ir in self.g.inputs or ir in self.g.outputs or name in self.g.tensors:
            self.g.add_tensor(Tensor(name, self.g.tensor(ir).shape, self.g.tensor(ir).dtype))
            self._add_node("reshape", f"{name}_copy", [ir], [name])
        else:
            self._rename(ir, name)
        return name

    def _const_output(self, name: str) -> str:
        """A graph output folded to a constant: the constant (flash) copied into the output by a `constant` node."""
        value = np.asarray(self.consts[name])
        if not self.g.inputs:
            raise ModelError(f"{self.path}: graph output '{shown(name)}' is a constant and the graph has no "
                             "inputs; there is nothing to compute")
        if value.dtype.name not in DTYPES:
            raise ModelError(f"{self.path}: graph output '{shown(name)}' is a {value.dtype.name} constant; "
                             "tinyc outputs float32 and integer tensors only")
        shape = value.shape or (1,)  # the IR holds a scalar as shape (1,)
        check_shape(shape, value.dtype.name, f"{self.path}: graph output '{shown(name)}'")
        self.g.add_tensor(Tensor(name, shape, value.dtype.name))
        self._add_node("constant", f"{name}_constant", [self.typed_const(f"{name}_value", value)], [name])
        return name

    def _rename(self, old: str, new: str) -> None:
        t = self.g.tensors.pop(old)
        t.name = new
        self.g.tensors[new] = t
        for node in self.g.nodes:
            node.inputs = [new if n == old else n for n in node.inputs]
            node.outputs = [new if n == old else n for n in node.outputs]
        for layouts in self.vals.values():
            for k, v in layouts.items():
                if v == old:
                    layouts[k] = new

    # --- nodes ----------------------------------------------------------------------------------

    def _node(self, node: onnx.NodeProto, index: int) -> None:
        op = node.op_type
        name = node.name or f"{op}_{index}"
        domain = node.domain or "ai.onnx"
        key = op if domain == "ai.onnx" else f"{domain}.{op}"
        convert = converter(key)
        if convert is None and domain != "ai.onnx":
            raise UnsupportedOpError(key, name, str(self.path))
        for i in node.input:
            if i and i not in self.consts and i not in self.vals:
                raise ModelError(f"{self.path}: node '{shown(name)}' ({shown(op)}) reads '{shown(i)}', which nothing "
                                 "produces")
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}
        if all(not i or i in self.consts for i in node.input):
            self._fold(node, name)
            return
        if op in ("Shape", "Size"):
            self._fold_shape(node, name, attrs)
            return
        if convert is None:
            raise UnsupportedOpError(op, name, str(self.path))
        convert(self, _Ctx(node, name, attrs))
        for out in node.output:
            mine, theirs = self.shapes.get(out), self.inferred.get(out)
            if out and mine is not None and theirs is not None and mine != theirs:
                raise ModelError(f"{self.path}: node '{shown(name)}' ({shown(op)}) gives '{shown(out)}' shape "
                                 f"{list(mine)} "
                                 f"but ONNX shape inference says {list(theirs)}")

    def _fold(self, node: onnx.NodeProto, name: str) -> None:
        """Evaluate a node whose inputs are all constants, with onnx's reference implementation."""
        from onnx.reference import ReferenceEvaluator

        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_location == TensorProto.EXTERNAL:
                raise ModelError(f"{self.path}: node '{shown(name)}' keeps its data in an external file")
        for out in node.output:
            if out in self.inferred and math.prod(self.inferred[out]) > MAX_FOLDED_ELEMENTS:
                raise ModelError(f"{self.path}: node '{shown(name)}' ({shown(node.op_type)}) makes a constant of "
                                 f"{math.prod(self.inferred[out])} elements")
        feeds = {i: self.consts[i] for i in node.input if i}
        try:
            results = ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds)
        except TinycError:
            raise
        except Exception as exc:
            raise ModelError(f"{self.path}: node '{shown(name)}' ({shown(node.op_type)}) cannot be evaluated on its "
                             f"constant inputs ({_one_line(exc)})") from None
        for out, value in zip(node.output, results, strict=False):
            if out:
                self.consts[out] = np.asarray(value)

    def _fold_shape(self, node: onnx.NodeProto, name: str, attrs: dict) -> None:
        shape = self.shapes[node.input[0]]
        if node.op_type == "Size":
            self.consts[node.output[0]] = np.array(math.prod(shape), np.int64)
            return
        rank = len(shape)
        start, end = attrs.get("start", 0), attrs.get("end", rank)
        start, end = (max(0, min(rank, s + rank if s < 0 else s)) for s in (start, end))
        self.consts[node.output[0]] = np.array(shape[start:end], np.int64)

    # --- helpers for converters -----------------------------------------------------------------

    def fresh(self, base: str) -> str:
        name, i = base, 1
        while name in self.g.tensors or name in self.reserved:
            name, i = f"{base}_{i}", i + 1
        return name

    def _node_name(self, base: str) -> str:
        name, i = base, 1
        while name in self.node_names:
            name, i = f"{base}_{i}", i + 1
        self.node_names.add(name)
        return name

    def _add_node(self, op: str, name: str, inputs: list[str], outputs: list[str],
                  attrs: dict | None = None) -> None:
        self.g.nodes.append(Node(op, self._node_name(name), inputs, outputs, attrs or {}))

    def const(self, base: str, value: np.ndarray) -> str:
        name = self.fresh(base)
        self.g.add_tensor(Tensor(name, value.shape, "float32", data=value.astype(np.float32)))
        return name

    def typed_const(self, base: str, value: np.ndarray) -> str:
        """A constant in its own dtype (float64 stored as float32; a scalar as shape (1,))."""
        value = np.asarray(value)
        value = value.astype(np.float32) if value.dtype == np.float64 else value
        value = value.reshape(value.shape or (1,))
        name = self.fresh(base)
        self.g.add_tensor(Tensor(name, value.shape, str(value.dtype), data=value))
        return name

    def operand(self, name: str, base: str, layout: str = "onnx") -> str:
        """The IR tensor of an input that may be a constant (made a tensor) or an activation (in `layout`)."""
        if name in self.consts:
            return self.typed_const(base, self.consts[name])
        return self.get(name, layout)

    def preferred(self, name: str) -> str:
        """The layout an element-wise op should work in: NHWC if the value is already held so."""
        return "nhwc" if "nhwc" in self.vals[name] else "onnx"

    def get(self, name: str, layout: str) -> str:
        """The IR tensor holding ONNX value `name` in `layout`, transposing once if needed."""
        held = self.vals[name]
        if layout in held:
            return held[layout]
        shape = self.shapes[name]
        if len(shape) not in (3, 4):
            raise ModelError(f"{self.path}: value '{shown(name)}' of shape {list(shape)} has no NHWC layout")
        src = held["nhwc" if layout == "onnx" else "onnx"]
        if layout == "onnx":
            out = name if name not in self.g.tensors else self.fresh(f"{name}_nchw")
        else:
            out = self.fresh(f"{name}_nhwc")
        node = f"{name}_to_{'nchw' if layout == 'onnx' else 'nhwc'}"
        if len(shape) == 4:
            self.g.add_tensor(Tensor(out, shape if layout == "onnx" else nhwc_shape(shape), "float32"))
            perm = TO_NCHW if layout == "onnx" else TO_NHWC
            self._add_node("transpose", node, [src], [out], {"perm": perm})
        else:  # NCL <-> [N, 1, L, C]: a transpose and a reshape
            n, ch, length = shape
            mid = self.fresh(f"{name}_nlc")
            self.g.add_tensor(Tensor(mid, (n, length, ch), "float32"))
            self.g.add_tensor(Tensor(out, shape if layout == "onnx" else nhwc_shape(shape), "float32"))
            if layout == "onnx":
                self._add_node("reshape", f"{node}_squeeze", [src], [mid])
                self._add_node("transpose", node, [mid], [out], {"perm": (0, 2, 1)})
            else:
                self._add_node("transpose", node, [src], [mid], {"perm": (0, 2, 1)})
                self._add_node("reshape", f"{node}_unsqueeze", [mid], [out])
        held[layout] = out
        return out

    def new_value(self, name: str, shape: tuple[int, ...], layout: str = "onnx", dtype: str = "float32") -> str:
        """Create the IR tensor for ONNX value `name` (ONNX shape `shape`; a scalar is IR shape (1,)) in `layout`."""
        shape = tuple(int(d) for d in shape)
        ir_shape = nhwc_shape(shape) if layout == "nhwc" else (shape or (1,))
        check_shape(ir_shape, dtype, f"{self.path}: value '{shown(name)}'")
        ir = name if layout == "onnx" and name not in self.g.tensors else self.fresh(f"{name}_{layout}")
        self.g.add_tensor(Tensor(ir, ir_shape, dtype))
        self.shapes[name] = shape
        self.vals[name] = {layout: ir}
        return ir

    def alias(self, out: str, src: str) -> None:
        self.shapes[out] = self.shapes[src]
        self.vals[out] = self.vals[src]


class _Ctx:
    """One ONNX node being converted: its inputs, outputs, attributes and name."""

    def __init__(self, node: onnx.NodeProto, name: str, attrs: dict, outputs: list[str] | None = None):
        self.node, self.name, self.attrs = node, name, attrs
        self.op = node.op_type
        self.dims = 2  # spatial dimensions of a windowed op's input (set by _spatial)
        self.inputs = list(node.input)
        self.outputs = list(node.output) if outputs is None else outputs

    def input(self, i: int) -> str:
        return self.inputs[i] if i < len(self.inputs) else ""


# --- converters -------------------------------------------------------------------------------------


def _fail(c: _Converter, x: _Ctx, message: str) -> ModelError:
    return ModelError(f"{c.path}: node '{shown(x.name)}' ({shown(x.op)}): {message}")


def _unsupported(c: _Converter, x: _Ctx, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"{x.op} ({what})", x.name, str(c.path))


def _activation_input(c: _Converter, x: _Ctx, i: int = 0) -> str:
    name = x.input(i)
    if not name or name in c.consts:
        raise _unsupported(c, x, f"input {i} must be an activation, not a constant")
    return name


def _const_input(c: _Converter, x: _Ctx, i: int, what: str) -> np.ndarray | None:
    name = x.input(i)
    if not name:
        return None
    if name not in c.consts:
        raise _unsupported(c, x, f"non-constant {what}")
    return np.asarray(c.consts[name])


def _spatial(c: _Converter, x: _Ctx, name: str) -> tuple[int, int]:
    """(H, W) of an NCHW input; an NCL input (1-D windows) is (1, L)."""
    shape = c.shapes[name]
    if len(shape) not in (3, 4):
        raise _unsupported(c, x, f"{len(shape)}-D input; only 1-D (NCL) and 2-D (NCHW) windows are supported")
    x.dims = len(shape) - 2
    return (shape[2], shape[3]) if len(shape) == 4 else (1, shape[2])


def _window_pads(c: _Converter, x: _Ctx, size: tuple[int, int], k: tuple[int, int], stride: tuple[int, int],
                 dil: tuple[int, int]) -> tuple[int, int, int, int]:
    """IR pads (top, left, bottom, right) from ONNX pads [h_begin, w_begin, h_end, w_end] or auto_pad."""
    auto = x.attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if auto == "NOTSET":
        pads = [int(p) for p in x.attrs.get("pads", (0,) * 2 * x.dims)]
        if len(pads) != 2 * x.dims:
            raise _fail(c, x, f"pads {pads} should have {2 * x.dims} values")
        if min(pads) < 0:
            raise _unsupported(c, x, "negative padding")
        if x.dims == 1:
            return 0, pads[0], 0, pads[1]
        return pads[0], pads[1], pads[2], pads[3]
    if auto == "VALID":
        return 0, 0, 0, 0
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise _fail(c, x, f"unknown auto_pad '{shown(auto)}'")
    before, after = [], []
    for n, kk, s, d in zip(size, k, stride, dil, strict=True):
        out = -(-n // s)
        total = max((out - 1) * s + (kk - 1) * d + 1 - n, 0)
        small, big = total // 2, total - total // 2
        before.append(small if auto == "SAME_UPPER" else big)
        after.append(big if auto == "SAME_UPPER" else small)
    return before[0], before[1], after[0], after[1]


def _pair(c: _Converter, x: _Ctx, key: str, default: int = 1) -> tuple[int, int]:
    """A window attribute as (H, W); 1-D windows have H = 1."""
    v = tuple(int(a) for a in x.attrs.get(key, (default,) * x.dims))
    if len(v) != x.dims:
        raise _fail(c, x, f"{key} {list(v)} should have {x.dims} values")
    return (v[0], v[1]) if x.dims == 2 else (1, v[0])


def _conv(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    w = _const_input(c, x, 1, "weights")
    b = _const_input(c, x, 2, "bias")
    size = _spatial(c, x, src)
    if w is None or w.ndim != x.dims + 2:
        raise _fail(c, x, f"weights must be a {x.dims + 2}-D [Cout, Cin/group, kernel...] tensor")
    if tuple(x.attrs.get("kernel_shape", w.shape[2:])) != w.shape[2:]:
        raise _fail(c, x, f"kernel_shape {list(x.attrs['kernel_shape'])} differs from weights {w.shape}")
    w = w.reshape(w.shape[:2] + (1,) * (4 - w.ndim) + w.shape[2:])  # 1-D: [Cout, Cin/group, 1, K]
    n, cin = c.shapes[src][:2]
    cout, cin_g, kh, kw = (int(d) for d in w.shape)
    k = (kh, kw)
    stride, dil = _pair(c, x, "strides"), _pair(c, x, "dilations")
    pads = _window_pads(c, x, size, k, stride, dil)
    group = int(x.attrs.get("group", 1))
    attrs = {"stride": stride, "dilation": dil, "pads": pads, "activation": "none"}
    if group == 1:
        if cin_g != cin:
            raise _fail(c, x, f"weights {list(w.shape)} do not match {cin} input channels")
        op, weights = "conv2d", w.transpose(0, 2, 3, 1)
    elif group == cin and cin_g == 1 and cout % cin == 0:
        op, weights = "depthwise_conv2d", w[:, 0].transpose(1, 2, 0)[None]
        attrs["depth_multiplier"] = cout // cin
    else:
        raise _unsupported(c, x, f"group={group} with {cin} input channels; only 1 and depthwise are")
    if b is not None and b.size != cout:
        raise _fail(c, x, f"bias of {b.size} values for {cout} output channels")
    oh, ow = (window_out_size(size[i], k[i], stride[i], dil[i], pads[i], pads[i + 2]) for i in range(2))
    inputs = [c.get(src, "nhwc"), c.const(f"{x.name}_weights", weights)]
    if b is not None:
        inputs.append(c.const(f"{x.name}_bias", b.reshape(-1)))
    out = c.new_value(x.outputs[0], (n, cout, oh, ow) if x.dims == 2 else (n, cout, ow), "nhwc")
    c._add_node(op, x.name, inputs, [out], attrs)


def _pool(ir_op: str) -> Callable[[_Converter, _Ctx], None]:
    def convert(c: _Converter, x: _Ctx) -> None:
        src = _activation_input(c, x)
        size = _spatial(c, x, src)
        if len(x.outputs) > 1 and x.outputs[1]:
            raise _unsupported(c, x, "the Indices output")
        k = _pair(c, x, "kernel_shape")
        stride = _pair(c, x, "strides")
        if _pair(c, x, "dilations") != (1, 1):
            raise _unsupported(c, x, "dilation")
        top, left, bottom, right = _window_pads(c, x, size, k, stride, (1, 1))
        include_pad = ir_op == "avg_pool2d" and x.attrs.get("count_include_pad", 0)
        if include_pad and max(top, left, bottom, right) > 0 and not x.attrs.get("ceil_mode", 0):
            # the padding counts: pad with zeros first, then pool without padding
            n, ch = c.shapes[src][:2]
            padded = c.fresh(f"{x.name}_padded")
            c.g.add_tensor(Tensor(padded, (n, size[0] + top + bottom, size[1] + left + right, ch), "float32"))
            c._add_node("pad", f"{x.name}_pad", [c.get(src, "nhwc")], [padded],
                        {"pads": ((0, 0), (top, bottom), (left, right), (0, 0)), "value": 0.0})
            out_hw = [window_out_size(size[i] + (top, left)[i] + (bottom, right)[i], k[i], stride[i], 1, 0, 0)
                      for i in range(2)]
            out = c.new_value(x.outputs[0], (n, ch, *out_hw) if x.dims == 2 else (n, ch, out_hw[1]), "nhwc")
            c._add_node(ir_op, x.name, [padded], [out],
                        {"kernel": k, "stride": stride, "pads": (0, 0, 0, 0), "activation": "none"})
            return
        if include_pad and max(top, left, bottom, right) > 0:
            raise _unsupported(c, x, "count_include_pad=1 with padding and ceil_mode=1")
        out_hw = [window_out_size(size[i], k[i], stride[i], 1, (top, left)[i], (bottom, right)[i])
                  for i in range(2)]
        if x.attrs.get("ceil_mode", 0):
            for i in range(2):
                begin, end = (top, left)[i], (bottom, right)[i]
                span = size[i] + begin + end - k[i]
                out = -(-span // stride[i]) + 1
                if (out - 1) * stride[i] >= size[i] + begin:  # a window may not start in the end padding
                    out -= 1
                extra = max((out - 1) * stride[i] + k[i] - (size[i] + begin + end), 0)
                if extra and include_pad:
                    raise _unsupported(c, x, "ceil_mode=1 with count_include_pad=1")
                if i == 0:
                    bottom += extra
                else:
                    right += extra
                out_hw[i] = out
        n, ch = c.shapes[src][:2]
        out = c.new_value(x.outputs[0], (n, ch, *out_hw) if x.dims == 2 else (n, ch, out_hw[1]), "nhwc")
        c._add_node(ir_op, x.name, [c.get(src, "nhwc")], [out],
                    {"kernel": k, "stride": stride, "pads": (top, left, bottom, right), "activation": "none"})
    return convert


def _global_pool(ir_op: str) -> Callable[[_Converter, _Ctx], None]:
    def convert(c: _Converter, x: _Ctx) -> None:
        src = _activation_input(c, x)
        h, w = _spatial(c, x, src)
        n, ch = c.shapes[src][:2]
        out = c.new_value(x.outputs[0], (n, ch) + (1,) * x.dims, "nhwc")
        c._add_node(ir_op, x.name, [c.get(src, "nhwc")], [out],
                    {"kernel": (h, w), "stride": (1, 1), "pads": (0, 0, 0, 0), "activation": "none"})
    return convert


def _fully_connected(c: _Converter, x: _Ctx, src: str, weights: np.ndarray, bias: np.ndarray | None) -> None:
    """y[..., n] = sum_k src[..., k] * weights[n, k] + bias[n]."""
    shape = c.shapes[src]
    units = weights.shape[0]
    inputs = [c.get(src, "onnx"), c.const(f"{x.name}_weights", weights)]
    if bias is not None:
        inputs.append(c.const(f"{x.name}_bias", bias))
    out = c.new_value(x.outputs[0], shape[:-1] + (units,))
    c._add_node("fully_connected", x.name, inputs, [out], {"activation": "none"})


def _gemm(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    b = _const_input(c, x, 1, "B operand")
    bias = _const_input(c, x, 2, "C operand")
    if x.attrs.get("transA", 0):  # A transposed first (an activation: a transpose node)
        a_t = c.fresh(f"{x.name}_a_t")
        c.g.add_tensor(Tensor(a_t, c.shapes[src][::-1], "float32"))
        c._add_node("transpose", f"{x.name}_transpose_a", [c.get(src, "onnx")], [a_t], {"perm": (1, 0)})
        c.shapes[a_t], c.vals[a_t] = c.shapes[src][::-1], {"onnx": a_t}
        src = a_t
    shape = c.shapes[src]
    if len(shape) != 2 or b is None or b.ndim != 2:
        got = f"{list(shape)} and {None if b is None else list(b.shape)}"
        raise _fail(c, x, f"expects 2-D operands, got {got}")
    w = (b if x.attrs.get("transB", 0) else b.T).astype(np.float64) * float(x.attrs.get("alpha", 1.0))
    if w.shape[1] != shape[1]:
        raise _fail(c, x, f"B of shape {list(b.shape)} does not multiply A of shape {list(shape)}")
    row = None
    if bias is not None:
        beta = float(x.attrs.get("beta", 1.0))
        full = np.broadcast_to(bias.astype(np.float64) * beta, (shape[0], w.shape[0]))
        if not np.all(full == full[:1]):  # a C that differs between rows: added after the product
            product = c.fresh(f"{x.name}_product")
            _fully_connected(c, _Ctx(x.node, x.name, x.attrs, [product]), src, w.astype(np.float32), None)
            out = c.new_value(x.outputs[0], (shape[0], w.shape[0]))
            c._add_node("add", f"{x.name}_c", [c.get(product, "onnx"), c.const(f"{x.name}_c", full)], [out],
                        {"activation": "none"})
            return
        row = full[0]
    _fully_connected(c, x, src, w.astype(np.float32), row)


def _matmul(c: _Converter, x: _Ctx) -> None:
    src, b = x.input(0), c.consts.get(x.input(1))
    if src in c.consts or b is None or b.ndim != 2 or len(c.shapes[src]) < 2 or b.shape[0] != c.shapes[src][-1]:
        from tinyc.frontends.onnx_ops import batch_matmul

        batch_matmul(c, x)  # not an activation times a [K, N] weight matrix
        return
    _fully_connected(c, x, src, np.ascontiguousarray(np.asarray(b).T), None)


def _rank_const(value: np.ndarray, rank: int, layout: str) -> np.ndarray:
    """A constant operand broadcast to `rank` dimensions and put in `layout`."""
    v = np.asarray(value, np.float32).reshape((1,) * (rank - value.ndim) + value.shape)
    return nhwc_const(v) if layout == "nhwc" else v


def _elementwise_shape(c: _Converter, x: _Ctx, a: str, other: tuple[int, ...]) -> tuple[int, ...]:
    try:
        out = tuple(int(d) for d in np.broadcast_shapes(c.shapes[a], other))
    except ValueError:
        raise _fail(c, x, f"shapes {list(c.shapes[a])} and {list(other)} do not broadcast") from None
    if out != c.shapes[a]:
        raise _unsupported(c, x, f"broadcasting the activation {list(c.shapes[a])} to {list(out)}")
    return out


def _binary(c: _Converter, x: _Ctx) -> None:
    a, b = x.input(0), x.input(1)
    op = x.op
    if a in c.consts and op in ("Add", "Mul"):
        a, b = b, a
    if a in c.consts or (b in c.consts and c.consts[b].dtype != np.float32):
        return _generic_binary(c, x)
    if b not in c.consts:
        if op != "Add":
            return _generic_binary(c, x)
        if c.shapes[a] != c.shapes[b]:
            return _generic_binary(c, x)
        layout = c.preferred(a)
        out = c.new_value(x.outputs[0], c.shapes[a], layout)
        c._add_node("add", x.name, [c.get(a, layout), c.get(b, layout)], [out], {"activation": "none"})
        return
    value = np.asarray(c.consts[b]).astype(np.float64)
    if tuple(np.broadcast_shapes(c.shapes[a], value.shape)) != c.shapes[a]:
        return _generic_binary(c, x)
    shape = _elementwise_shape(c, x, a, value.shape)
    rank = len(shape)
    if op in ("Add", "Sub"):
        value = -value if op == "Sub" else value
        layout = c.preferred(a) if rank in (3, 4) else "onnx"
        other = c.const(f"{x.name}_const", _rank_const(value, rank, layout))
        out = c.new_value(x.outputs[0], shape, layout)
        c._add_node("add", x.name, [c.get(a, layout), other], [out], {"activation": "none"})
        return
    if op == "Div":
        with np.errstate(divide="ignore"):
            value = 1.0 / value
    # a per-channel scale: constant along every axis but the last one of the chosen layout
    candidates = ([c.preferred(a), "onnx" if c.preferred(a) == "nhwc" else "nhwc"] if rank in (3, 4)
                  else ["onnx"])
    for layout in candidates:
        v = _rank_const(value, rank, layout) if rank else value.reshape(1)
        if all(d == 1 for d in v.shape[:-1]):
            channels = c.get(a, layout)
            n_ch = c.g.tensor(channels).shape[-1] if rank else 1
            scale = np.broadcast_to(v.reshape(-1), (n_ch,))
            out = c.new_value(x.outputs[0], shape, layout)
            c._add_node("batch_norm", x.name, [channels, c.const(f"{x.name}_scale", scale),
                                               c.const(f"{x.name}_offset", np.zeros(n_ch))],
                        [out], {"activation": "none"})
            return
    _generic_binary(c, x)


def _generic_binary(c: _Converter, x: _Ctx) -> None:
    """Two activations, a constant first operand or broadcasting: the IR's broadcasting element-wise op."""
    from tinyc.frontends.onnx_ops import generic_binary

    generic_binary(c, x)


def _unary(c: _Converter, x: _Ctx, activation: str) -> None:
    src = _activation_input(c, x)
    layout = c.preferred(src)
    out = c.new_value(x.outputs[0], c.shapes[src], layout)
    c._add_node("relu", x.name, [c.get(src, layout)], [out], {"activation": activation})


CLIP_ACTIVATIONS = {(0.0, math.inf): "relu", (0.0, 6.0): "relu6", (-1.0, 1.0): "relu_n1_to_1"}


def _clip(c: _Converter, x: _Ctx) -> None:
    if c.opset < 11:
        lo, hi = float(x.attrs.get("min", -math.inf)), float(x.attrs.get("max", math.inf))
    else:
        lo_v, hi_v = _const_input(c, x, 1, "min"), _const_input(c, x, 2, "max")
        lo = float(lo_v.reshape(-1)[0]) if lo_v is not None else -math.inf
        hi = float(hi_v.reshape(-1)[0]) if hi_v is not None else math.inf
    lo, hi = (-math.inf if lo <= -3.4e38 else lo), (math.inf if hi >= 3.4e38 else hi)
    if (lo, hi) == (-math.inf, math.inf):
        c.alias(x.outputs[0], _activation_input(c, x))
        return
    if (lo, hi) not in CLIP_ACTIVATIONS:
        from tinyc.frontends.onnx_ops import clamp

        clamp(c, x, lo, hi)
        return
    _unary(c, x, CLIP_ACTIVATIONS[(lo, hi)])


def _softmax(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    shape = c.shapes[src]
    rank = len(shape)
    axis = int(x.attrs.get("axis", 1 if c.opset < 13 else -1))
    if not -rank <= axis < rank:
        raise _fail(c, x, f"axis {axis} out of range for shape {list(shape)}")
    axis %= rank
    if c.opset < 13 and math.prod(shape[axis:-1]) == 1:
        axis = rank - 1  # the coerced 2-D softmax is over the last axis alone
    if c.opset < 13 and axis != rank - 1:
        # softmax over the input flattened to [prod(shape[:axis]), prod(shape[axis:])]
        flat = c.fresh(f"{x.name}_flat")
        c.g.add_tensor(Tensor(flat, (1, math.prod(shape[:axis]), math.prod(shape[axis:])), "float32"))
        c._add_node("reshape", f"{x.name}_flatten", [c.get(src, "onnx")], [flat])
        soft = c.fresh(f"{x.name}_soft")
        c.g.add_tensor(Tensor(soft, c.g.tensor(flat).shape, "float32"))
        c._add_node("softmax", x.name, [flat], [soft], {"beta": 1.0})
        out = c.new_value(x.outputs[0], shape)
        c._add_node("reshape", f"{x.name}_unflatten", [soft], [out])
        return
    channels = rank in (3, 4) and axis == 1  # the channel axis is the last one of the IR's layout
    if math.prod(shape[axis + 1:]) == 1 and axis != rank - 1 and not channels:
        # the trailing axes are all 1: softmax over `axis` is softmax over the last axis of a reshape
        flat = c.fresh(f"{x.name}_flat")
        c.g.add_tensor(Tensor(flat, shape[:axis + 1], "float32"))
        c._add_node("reshape", f"{x.name}_flatten", [c.get(src, "onnx")], [flat])
        soft = c.fresh(f"{x.name}_soft")
        c.g.add_tensor(Tensor(soft, shape[:axis + 1], "float32"))
        c._add_node("softmax", x.name, [flat], [soft], {"beta": 1.0})
        out = c.new_value(x.outputs[0], shape)
        c._add_node("reshape", f"{x.name}_unflatten", [soft], [out])
        return
    if channels:
        layout = "nhwc"
    elif axis == rank - 1:
        layout = "onnx"
    else:  # any other axis: moved last by a transpose, and back
        perm = tuple(i for i in range(rank) if i != axis) + (axis,)
        moved = tuple(shape[p] for p in perm)
        t = c.fresh(f"{x.name}_moved")
        c.g.add_tensor(Tensor(t, moved, "float32"))
        c._add_node("transpose", f"{x.name}_move", [c.get(src, "onnx")], [t], {"perm": perm})
        soft = c.fresh(f"{x.name}_soft")
        c.g.add_tensor(Tensor(soft, moved, "float32"))
        c._add_node("softmax", x.name, [t], [soft], {"beta": 1.0})
        out = c.new_value(x.outputs[0], shape)
        c._add_node("transpose", f"{x.name}_back", [soft], [out], {"perm": tuple(int(i) for i in np.argsort(perm))})
        return
    out = c.new_value(x.outputs[0], shape, layout)
    c._add_node("softmax", x.name, [c.get(src, layout)], [out], {"beta": 1.0})


def _reshape_to(c: _Converter, x: _Ctx, src: str, shape: tuple[int, ...]) -> None:
    if math.prod(shape) != math.prod(c.shapes[src]) or any(d <= 0 for d in shape):
        raise _fail(c, x, f"cannot reshape {list(c.shapes[src])} to {list(shape)}")
    out = c.new_value(x.outputs[0], shape)
    c._add_node("reshape", x.name, [c.get(src, "onnx")], [out])


def _reshape(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    target = _const_input(c, x, 1, "target shape")
    if target is None:
        raise _fail(c, x, "no target shape")
    in_shape = c.shapes[src]
    dims = [int(d) for d in target.reshape(-1)]
    if not x.attrs.get("allowzero", 0):
        dims = [in_shape[i] if d == 0 and i < len(in_shape) else d for i, d in enumerate(dims)]
    if dims.count(-1) > 1:
        raise _fail(c, x, f"target shape {dims} has more than one -1")
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if known <= 0 or math.prod(in_shape) % known:
            raise _fail(c, x, f"cannot reshape {list(in_shape)} to {dims}")
        dims[dims.index(-1)] = math.prod(in_shape) // known
    _reshape_to(c, x, src, tuple(dims))


def _flatten(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    shape = c.shapes[src]
    axis = int(x.attrs.get("axis", 1))
    axis = axis + len(shape) if axis < 0 else axis
    _reshape_to(c, x, src, (math.prod(shape[:axis]), math.prod(shape[axis:])))


def _axes(c: _Converter, x: _Ctx) -> list[int] | None:
    if c.opset >= 13:
        v = _const_input(c, x, 1, "axes")
        return None if v is None else [int(a) for a in v.reshape(-1)]
    return [int(a) for a in x.attrs["axes"]] if "axes" in x.attrs else None


def _squeeze(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    shape = c.shapes[src]
    axes = _axes(c, x)
    axes = [i for i, d in enumerate(shape) if d == 1] if axes is None else [a % len(shape) for a in axes]
    if any(shape[a] != 1 for a in axes):
        raise _fail(c, x, f"cannot squeeze axes {axes} of shape {list(shape)}")
    _reshape_to(c, x, src, tuple(d for i, d in enumerate(shape) if i not in axes))


def _unsqueeze(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    shape = list(c.shapes[src])
    axes = _axes(c, x)
    if not axes:
        raise _fail(c, x, "no axes")
    rank = len(shape) + len(axes)
    for a in sorted(ax % rank for ax in axes):
        shape.insert(a, 1)
    _reshape_to(c, x, src, tuple(shape))


def _transpose(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    shape = c.shapes[src]
    perm = tuple(int(p) for p in x.attrs.get("perm", range(len(shape) - 1, -1, -1)))
    if sorted(perm) != list(range(len(shape))):
        raise _fail(c, x, f"perm {list(perm)} is not a permutation of {len(shape)} axes")
    out = c.new_value(x.outputs[0], tuple(shape[p] for p in perm))
    c._add_node("transpose", x.name, [c.get(src, "onnx")], [out], {"perm": perm})


def _batch_norm(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    if x.attrs.get("training_mode", 0):
        raise _unsupported(c, x, "training_mode=1")
    if c.opset < 9 and not x.attrs.get("spatial", 1):
        raise _unsupported(c, x, "spatial=0")
    gamma, beta, mean, var = (_const_input(c, x, i, "statistics") for i in range(1, 5))
    shape = c.shapes[src]
    if len(shape) not in (2, 3, 4):
        raise _unsupported(c, x, f"{len(shape)}-D input")
    ch = shape[1]
    if any(v is None or v.size != ch for v in (gamma, beta, mean, var)):
        raise _fail(c, x, f"scale, bias, mean and variance must have {ch} values")
    eps = float(x.attrs.get("epsilon", 1e-5))
    scale = gamma.astype(np.float64).reshape(-1) / np.sqrt(var.astype(np.float64).reshape(-1) + eps)
    offset = beta.astype(np.float64).reshape(-1) - mean.astype(np.float64).reshape(-1) * scale
    layout = "nhwc" if len(shape) > 2 else "onnx"
    out = c.new_value(x.outputs[0], shape, layout)
    c._add_node("batch_norm", x.name, [c.get(src, layout), c.const(f"{x.name}_scale", scale),
                                       c.const(f"{x.name}_offset", offset)], [out], {"activation": "none"})


def _identity(c: _Converter, x: _Ctx) -> None:
    c.alias(x.outputs[0], _activation_input(c, x))


def _dropout(c: _Converter, x: _Ctx) -> None:
    if len(x.outputs) > 1 and x.outputs[1]:
        raise _unsupported(c, x, "the mask output")
    _identity(c, x)


def _cast(c: _Converter, x: _Ctx) -> None:
    if int(x.attrs.get("to", 0)) == TensorProto.INT64 and c.g.tensor(c.get(x.input(0), "onnx")).dtype == "int64":
        _identity(c, x)  # to the dtype it has: skl2onnx's cast of an int64 label
        return
    if int(x.attrs.get("to", 0)) != TensorProto.FLOAT:
        raise _unsupported(c, x, f"to {TensorProto.DataType.Name(int(x.attrs.get('to', 0))).lower()}")
    _identity(c, x)


CONVERTERS: dict[str, Callable[[_Converter, _Ctx], None]] = {
    "Conv": _conv,
    "MaxPool": _pool("max_pool2d"),
    "AveragePool": _pool("avg_pool2d"),
    "GlobalAveragePool": _global_pool("avg_pool2d"),
    "GlobalMaxPool": _global_pool("max_pool2d"),
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Add": _binary,
    "Sub": _binary,
    "Mul": _binary,
    "Div": _binary,
    "Relu": lambda c, x: _unary(c, x, "relu"),
    "Clip": _clip,
    "Softmax": _softmax,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Transpose": _transpose,
    "BatchNormalization": _batch_norm,
    "Identity": _identity,
    "Dropout": _dropout,
    "Cast": _cast,
}

# Converters kept in their own modules (recurrent layers, quantized ONNX, ONNX-ML), keyed like CONVERTERS
# ("Op" for the default domain, "domain.Op" otherwise); imported on first use because they import this module.
EXTENSIONS = ("tinyc.frontends.onnx_ops", "tinyc.frontends.onnx_resize", "tinyc.frontends.onnx_norm",
              "tinyc.frontends.onnx_recurrent", "tinyc.frontends.onnx_qdq", "tinyc.frontends.onnx_ml",
              "tinyc.frontends.onnx_pool", "tinyc.frontends.onnx_deconv",
              "tinyc.frontends.onnx_erf_pow", "tinyc.frontends.onnx_topk")


@functools.cache
def _all_converters() -> dict[str, Callable[[_Converter, _Ctx], None]]:
    merged = dict(CONVERTERS)
    for module in EXTENSIONS:
        merged.update(importlib.import_module(module).CONVERTERS)
    return merged


def converter(key: str) -> Callable[[_Converter, _Ctx], None] | None:
    """The converter of an ONNX op ("Op" in the default domain, "domain.Op" in another), or None."""
    return _all_converters().get(key)
