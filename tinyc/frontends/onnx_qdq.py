"""Quantized ONNX (QuantizeLinear / DequantizeLinear and the QLinear* operator form) -> int8 ir.Graph nodes.

Both forms are read as the QDQ form: QuantizeLinear becomes a `quantize` node (float32 -> int8),
DequantizeLinear of an activation a `dequantize` node, and QLinearConv / QLinearMatMul / QGemm / QLinearAdd /
QLinearMul / QLinearGlobalAveragePool / QLinearAveragePool / QLinearSoftmax a dequantize -> float op -> quantize
chain (the float op built by the float converter of tinyc.frontends.onnx). Constant DequantizeLinear (weights,
biases) is folded to float by the frontend. `lower_quantized` then replaces each `dequantize -> op -> quantize`
it can by the op's int8 kernel (conv2d, depthwise_conv2d, fully_connected, add, mul, relu, pools, mean, softmax,
requantize), recovering the int8 weights, int32 biases and int8 constant operands from the ONNX integers and
scales, and checking that they give back the folded floats bit for bit; what stays between a dequantize and a
quantize (e.g. a softmax whose output scale is not TFLM's 1/256) runs in float32, as the QDQ form defines it.

uint8 is mapped onto int8: values and zero points shift by 128 (the same reals); uint8 weights must have zero
point 128 (int8 weights zero point 0), as TFLM's int8 kernels take symmetric weights. Per-channel scales are
read for weights (the output-channel axis) and biases; an activation quantized per channel, an int32
accumulator output (ConvInteger, MatMulInteger: dynamic quantization) or a uint8 graph output is a one-line
error naming the op, the node and the file.

Contract: tinyc computes TFLM's integer arithmetic (fixed-point requantization with gemmlowp rounding, QUANTIZE
rounding halves away from zero), so the C agrees with the reference runtime and TFLM byte for byte.
onnxruntime requantizes in float and rounds halves to even, so tinyc's int8 values may differ from
onnxruntime's by 1 LSB; benchmarks/onnx_qdq_agreement.py measures how often (equal / within 1 LSB / top-1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import helper

from tinyc.errors import ModelError, UnsupportedOpError
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.quant.scheme import FIXED_OUTPUT, WEIGHT_AXIS

if TYPE_CHECKING:
    from tinyc.frontends.onnx import _Converter, _Ctx

LAYOUT_OPS = ("transpose", "reshape")  # exact on int8 values: moved below a dequantize
SAME_QUANT_OPS = ("max_pool2d", "avg_pool2d", "reshape", "transpose")  # TFLM: output keeps the input quantization


# --- converters ---------------------------------------------------------------------------------------


def _fail(c: _Converter, x: _Ctx, message: str) -> ModelError:
    return ModelError(f"{c.path}: node '{x.name}' ({x.op}): {message}")


def _unsupported(c: _Converter, x: _Ctx, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"{x.op} ({what})", x.name, str(c.path))


def _scalar_quant(c: _Converter, x: _Ctx, scale_name: str, zp_name: str, what: str) -> tuple[Quant, str]:
    """The per-tensor (scale, zero point) of an activation as int8 Quant, and the ONNX integer type."""
    if scale_name not in c.consts or (zp_name and zp_name not in c.consts):
        raise _unsupported(c, x, f"a non-constant {what} scale or zero point")
    scale = np.asarray(c.consts[scale_name], np.float32)
    zp = np.asarray(c.consts[zp_name]) if zp_name else np.zeros((), np.uint8)
    if scale.size != 1 or zp.size != 1:
        raise _unsupported(c, x, f"a per-channel {what} quantization (only weights and biases may be per channel)")
    if zp.dtype not in (np.int8, np.uint8):
        raise _unsupported(c, x, f"{zp.dtype} {what}; only int8 and uint8 activations")
    s = float(scale.reshape(-1)[0])
    if not np.isfinite(s) or s <= 0:
        raise _fail(c, x, f"{what} scale {s} is not a positive number")
    shift = 128 if zp.dtype == np.uint8 else 0
    return Quant(np.float32(s), int(zp.reshape(-1)[0]) - shift), str(zp.dtype)


def _int8_value(c: _Converter, name: str, shape: tuple[int, ...], layout: str, q: Quant) -> str:
    ir = c.new_value(name, shape, layout)
    c.g.tensors[ir] = Tensor(ir, c.g.tensor(ir).shape, "int8", q)
    return ir


def _quantize_to(c: _Converter, x: _Ctx, src: str, out: str, q: Quant, dtype: str) -> None:
    if dtype == "uint8" and out in {v.name for v in c.model.graph.output}:
        raise _unsupported(c, x, f"uint8 graph output '{out}'; end the model with DequantizeLinear")
    layout = c.preferred(src)
    ir = _int8_value(c, out, c.shapes[src], layout, q)
    c._add_node("quantize", f"{x.name}_quantize" if out != x.outputs[0] else x.name, [c.get(src, layout)], [ir])


def _dequantize_to(c: _Converter, x: _Ctx, src: str, out: str) -> None:
    _propagate_layout_dtypes(c.g)
    layout = c.preferred(src)
    held = c.get(src, layout)
    if c.g.tensor(held).dtype != "int8":
        raise _unsupported(c, x, f"input '{src}' is {c.g.tensor(held).dtype}, not a quantized activation")
    ir = c.new_value(out, c.shapes[src], layout)
    c._add_node("dequantize", f"{x.name}_dequantize_{src}" if out != x.outputs[0] else x.name, [held], [ir])


def _quantize_linear(c: _Converter, x: _Ctx) -> None:
    from tinyc.frontends.onnx import _activation_input

    src = _activation_input(c, x)
    q, dtype = _scalar_quant(c, x, x.input(1), x.input(2), "output")
    _quantize_to(c, x, src, x.outputs[0], q, dtype)


def _dequantize_linear(c: _Converter, x: _Ctx) -> None:
    from tinyc.frontends.onnx import _activation_input

    src = _activation_input(c, x)
    q, _ = _scalar_quant(c, x, x.input(1), x.input(2), "input")
    held = c.g.tensor(c.get(src, c.preferred(src)))
    if held.quant is None or held.quant.s != q.s or held.quant.zp != q.zp:
        raise _unsupported(c, x, f"dequantizing '{src}' with other parameters than it was quantized with")
    _dequantize_to(c, x, src, x.outputs[0])


def _dequantized_const(c: _Converter, x: _Ctx, i: int, scale: str, zp: str, axis: int, what: str) -> str:
    """A folded float constant (q - zp) * scale (per tensor or along `axis`) for a QLinear op's weight or bias."""
    name = x.input(i)
    if name not in c.consts or scale not in c.consts or (zp and zp not in c.consts):
        raise _unsupported(c, x, f"a non-constant {what}")
    q = np.asarray(c.consts[name])
    s = np.asarray(c.consts[scale], np.float32).reshape(-1)
    z = np.asarray(c.consts[zp]).reshape(-1) if zp else np.zeros(1, np.int32)
    shape = [1] * q.ndim
    if s.size > 1:
        if q.ndim == 0 or q.shape[axis] != s.size:
            raise _fail(c, x, f"{what} of shape {list(q.shape)} has {s.size} scales along axis {axis}")
        shape[axis] = -1
    value = (q.astype(np.int32) - z.astype(np.int32).reshape(shape)).astype(np.float32) * s.reshape(shape)
    out = c.fresh(f"{x.name}_{what}")
    c.reserved.add(out)
    c.consts[out] = value
    return out


def _qlinear(float_op: str, layout: tuple[tuple[int, int, int] | int, ...], out_qp: tuple[int, int] | None,
             weight_axis: Callable[[_Ctx], int] = lambda x: 0) -> Callable[[_Converter, _Ctx], None]:
    """A QLinear op as dequantize -> float_op -> quantize. `layout` lists the float op's inputs: an int i is
    the quantized activation at input i (its scale and zero point at i + 1, i + 2); a triple (i, scale, zp) a
    quantized constant (weights; a bias has scale -1: the product of the first activation's and the weights')."""
    def convert(c: _Converter, x: _Ctx) -> None:
        from tinyc.frontends.onnx import CONVERTERS as FLOAT_CONVERTERS
        from tinyc.frontends.onnx import _Ctx

        inputs: list[str] = []
        act_scale = weight_scale = ""
        for item in layout:
            if isinstance(item, int):
                src = x.input(item)
                if src in c.consts and float_op in ("Add", "Mul"):  # a constant operand: dequantized (and folded)
                    inputs.append(_dequantized_const(c, x, item, x.input(item + 1), x.input(item + 2), 0, "operand"))
                    continue
                if not src or src in c.consts:
                    raise _unsupported(c, x, f"input {item} must be an activation, not a constant")
                _scalar_quant(c, x, x.input(item + 1), x.input(item + 2), f"input {item}")
                act_scale = act_scale or x.input(item + 1)
                fl = c.fresh(f"{src}_dequantized")
                c.reserved.add(fl)
                _dequantize_to(c, x, src, fl)
                inputs.append(fl)
                continue
            i, si, zi = item
            if not x.input(i):
                inputs.append("")
                continue
            if si >= 0:
                weight_scale = x.input(si)
                inputs.append(_dequantized_const(c, x, i, x.input(si), x.input(zi), weight_axis(x), "weights"))
            else:
                bias_scale = c.fresh(f"{x.name}_bias_scale")
                c.consts[bias_scale] = (np.asarray(c.consts[act_scale], np.float32).reshape(-1)
                                        * np.asarray(c.consts[weight_scale], np.float32).reshape(-1))
                inputs.append(_dequantized_const(c, x, i, bias_scale, "", 0, "bias"))
        out = x.outputs[0]
        quantized = out_qp is not None and bool(x.input(out_qp[0]))
        fl_out = out
        if quantized:
            fl_out = c.fresh(f"{out}_float")
            c.reserved.add(fl_out)
        attrs = {k: v for k, v in x.attrs.items() if k not in ("channels_last", "domain")}
        if x.attrs.get("channels_last", 0):
            raise _unsupported(c, x, "channels_last=1")
        node = helper.make_node(float_op, inputs, [fl_out], name=x.name, **attrs)
        FLOAT_CONVERTERS[float_op](c, _Ctx(node, x.name, attrs))
        if quantized:
            q, dtype = _scalar_quant(c, x, x.input(out_qp[0]), x.input(out_qp[1]), "output")
            _quantize_to(c, x, fl_out, out, q, dtype)
    return convert


def _integer_accumulator(c: _Converter, x: _Ctx) -> None:
    raise _unsupported(c, x, "an int32 accumulator output (dynamic quantization); tinyc's int8 kernels requantize "
                             "to int8, quantize the model statically (QDQ or QLinear ops)")


CONVERTERS: dict[str, Callable[[_Converter, _Ctx], None]] = {
    "QuantizeLinear": _quantize_linear,
    "DequantizeLinear": _dequantize_linear,
    "QLinearConv": _qlinear("Conv", (0, (3, 4, 5), (8, -1, -1)), (6, 7)),
    "QLinearMatMul": _qlinear("MatMul", (0, (3, 4, 5)), (6, 7), lambda x: 1),
    "com.microsoft.QGemm": _qlinear("Gemm", (0, (3, 4, 5), (6, -1, -1)), (7, 8),
                                    lambda x: 0 if x.attrs.get("transB", 0) else 1),
    "com.microsoft.QLinearAdd": _qlinear("Add", (0, 3), (6, 7)),
    "com.microsoft.QLinearMul": _qlinear("Mul", (0, 3), (6, 7)),
    "com.microsoft.QLinearGlobalAveragePool": _qlinear("GlobalAveragePool", (0,), (3, 4)),
    "com.microsoft.QLinearAveragePool": _qlinear("AveragePool", (0,), (3, 4)),
    "com.microsoft.QLinearSoftmax": _qlinear("Softmax", (0,), (3, 4)),
    "ConvInteger": _integer_accumulator,
    "MatMulInteger": _integer_accumulator,
}


# --- lowering dequantize -> op -> quantize onto int8 kernels ---------------------------------------------


def lower_quantized(c: _Converter) -> None:
    """Replace the dequantize -> op -> quantize chains of a converted graph by int8 kernels, in place."""
    g = c.g
    if not any(n.op in ("quantize", "dequantize") for n in g.nodes):
        return
    _propagate_layout_dtypes(g)
    while _sink_layout_ops(g) or _fuse_one(c):
        pass
    from tinyc.passes.dead_code import remove_dead_code

    remove_dead_code(g)


def _producers(g: Graph) -> dict[str, Node]:
    return {o: n for n in g.nodes for o in n.outputs}


def _consumers(g: Graph, name: str) -> list[Node]:
    return [n for n in g.nodes if name in n.inputs]


def _same(a: Quant | None, b: Quant | None) -> bool:
    return (a is not None and b is not None and not a.per_channel and not b.per_channel
            and a.s == b.s and a.zp == b.zp)


def _propagate_layout_dtypes(g: Graph) -> None:
    """Layout ops and max pools the float converters put on int8 values (the QLinear form) keep int8."""
    for n in g.nodes:
        if n.op in ("reshape", "transpose", "max_pool2d"):
            x, y = g.tensor(n.inputs[0]), g.tensor(n.outputs[0])
            if x.dtype == "int8" and y.dtype == "float32":
                g.tensors[y.name] = Tensor(y.name, y.shape, "int8", x.quant)


def _sink_layout_ops(g: Graph) -> bool:
    """dequantize(x) -> transpose/reshape  ==>  transpose/reshape(x) -> dequantize (exact on per-tensor int8)."""
    prod = _producers(g)
    for n in g.nodes:
        d = prod.get(n.inputs[0]) if n.op in LAYOUT_OPS else None
        if d is None or d.op != "dequantize":
            continue
        x, y = g.tensor(d.inputs[0]), g.tensor(n.outputs[0])
        moved = _fresh(g, f"{y.name}_int8")
        g.add_tensor(Tensor(moved, y.shape, "int8", x.quant))
        n.inputs = [x.name] + n.inputs[1:]
        n.outputs = [moved]
        g.nodes.insert(g.nodes.index(n) + 1, Node("dequantize", _fresh_node(g, f"{n.name}_dequantize"), [moved],
                                                  [y.name], {}))
        return True
    return False


def _fresh(g: Graph, base: str) -> str:
    name, i = base, 1
    while name in g.tensors:
        name, i = f"{base}_{i}", i + 1
    return name


def _fresh_node(g: Graph, base: str) -> str:
    names = {n.name for n in g.nodes}
    name, i = base, 1
    while name in names:
        name, i = f"{base}_{i}", i + 1
    return name


def _fuse_one(c: _Converter) -> bool:
    """Replace one `op -> quantize` whose op reads dequantized values by the op's int8 kernel."""
    g = c.g
    prod = _producers(g)
    for qn in g.nodes:
        if qn.op != "quantize" or g.tensor(qn.inputs[0]).dtype != "float32":
            continue
        f = qn.inputs[0]
        p = prod.get(f)
        if p is None or f in g.outputs or len(_consumers(g, f)) != 1:
            continue
        activation = "none"
        if p.op == "relu" and p.attrs.get("activation") in ("relu", "relu6"):
            inner = prod.get(p.inputs[0])
            if (inner is not None and (inner.op in WEIGHT_AXIS or inner.op == "add")
                    and len(_consumers(g, p.inputs[0])) == 1 and p.inputs[0] not in g.outputs):
                activation, p = p.attrs["activation"], inner
        if p.op == "dequantize" and _same(g.tensor(p.inputs[0]).quant, g.tensor(qn.outputs[0]).quant) \
                and qn.outputs[0] not in g.outputs:  # dequantize -> quantize with the same parameters: nothing
            for n in g.nodes:
                n.inputs = [p.inputs[0] if i == qn.outputs[0] else i for i in n.inputs]
            g.nodes.remove(qn)
            return True
        replacement = _int8_node(c, prod, p, qn.outputs[0], activation)
        if replacement is None:
            continue
        g.nodes[g.nodes.index(p)] = replacement
        g.nodes.remove(qn)
        return True
    return False


def _int8_node(c: _Converter, prod: dict[str, Node], p: Node, y: str, activation: str) -> Node | None:
    """The int8 node computing float node p from dequantized inputs into int8 tensor y, or None if p stays float."""
    g = c.g
    ins = [prod[i].inputs[0] if i in prod and prod[i].op == "dequantize" else None for i in p.inputs]
    yq = g.tensor(y).quant
    if p.op == "dequantize":  # dequantize -> quantize: a requantization (TFLM's QUANTIZE int8 -> int8)
        return Node("quantize", _fresh_node(g, f"{p.name}_requantize"), [p.inputs[0]], [y], {})
    if p.op in WEIGHT_AXIS and ins[0] is not None:
        weights = _int8_weights(c, p)
        inputs = [ins[0], weights]
        if len(p.inputs) > 2 and p.inputs[2]:
            inputs.append(_int32_bias(c, p, g.tensor(ins[0]).quant, g.tensor(weights).quant))
        return Node(p.op, p.name, inputs, [y], {**p.attrs, "activation": activation})
    if p.op == "add" and len(ins) == 2 and ins[0] is not None and (ins[1] is not None
                                                                  or g.tensor(p.inputs[1]).is_const):
        operand = ins[1] if ins[1] is not None else _int8_operand(c, p)
        return Node("add", p.name, [ins[0], operand], [y], {**p.attrs, "activation": activation})
    if (p.op == "batch_norm" and ins[0] is not None and activation == "none"
            and not np.any(g.tensor(p.inputs[2]).data)):  # a Mul by a per-channel constant: TFLM's int8 MUL
        return Node("mul", p.name, [ins[0], _int8_operand(c, p)], [y], {"activation": "none"})
    if ins and ins[0] is not None and activation == "none":
        xq = g.tensor(ins[0]).quant
        if ((p.op in SAME_QUANT_OPS and _same(xq, yq)) or (p.op in FIXED_OUTPUT and _same(yq, FIXED_OUTPUT[p.op]))
                or (p.op == "relu" and p.attrs.get("activation") in ("relu", "relu6"))):
            return Node(p.op, p.name, [ins[0]], [y], dict(p.attrs))
        if p.op == "avg_pool2d" and _global(g, p, ins[0]):  # a requantizing global average: TFLM's int8 MEAN
            return Node("mean", p.name, [ins[0]], [y], {"axes": (1, 2), "keep_dims": True})
    return None


def _global(g: Graph, p: Node, x: str) -> bool:
    shape = g.tensor(x).shape
    return (len(shape) == 4 and tuple(p.attrs["kernel"]) == shape[1:3] and tuple(p.attrs["pads"]) == (0, 0, 0, 0)
            and p.attrs.get("activation", "none") == "none")


def _int8_operand(c: _Converter, p: Node) -> str:
    """The constant operand of add / mul node p as int8 at its ONNX quantization (checked against the folded floats)."""
    g = c.g
    f = g.tensor(p.inputs[1])
    node = _onnx_node(c, p.name)
    if node is None:
        raise ModelError(f"{c.path}: node '{p.name}' ({p.op}): no ONNX node of that name to read its quantization")
    if node.op_type in ("QLinearAdd", "QLinearMul"):
        i = 0 if node.input[0] in c.consts else 3
        scale, zp = node.input[i + 1], node.input[i + 2]
    else:
        dq = [n for n in c.model.graph.node if n.op_type == "DequantizeLinear" and n.output[0] in node.input
              and n.input[0] in c.consts]
        if len(dq) != 1:
            raise UnsupportedOpError(f"{node.op_type} (a float constant operand between quantized activations)",
                                     p.name, str(c.path))
        scale, zp = dq[0].input[1], dq[0].input[2] if len(dq[0].input) > 2 else ""
    s = np.asarray(c.consts[scale], np.float32).reshape(-1)
    z = np.asarray(c.consts[zp]).reshape(-1) if zp else np.zeros(1, np.int8)
    if s.size != 1:
        raise UnsupportedOpError(f"{node.op_type} (a constant operand quantized per channel)", p.name, str(c.path))
    shift = 128 if z.dtype == np.uint8 else 0
    q = np.rint(f.data.astype(np.float64) / float(s[0])) + (int(z[0]) - shift)
    back = ((q - (int(z[0]) - shift)).astype(np.float32) * s[0]).astype(np.float32)
    if q.min(initial=0) < -128 or q.max(initial=0) > 127 or not np.array_equal(back, f.data):
        raise UnsupportedOpError(f"{node.op_type} (a constant operand that is not int8 at its ONNX scale)", p.name,
                                 str(c.path))
    name = _fresh(g, f"{f.name}_int8")
    g.add_tensor(Tensor(name, f.shape, "int8", Quant(s[0], int(z[0]) - shift), q.astype(np.int8)))
    return name


def _onnx_node(c: _Converter, name: str) -> onnx.NodeProto | None:
    for index, node in enumerate(c.model.graph.node):
        if (node.name or f"{node.op_type}_{index}") == name:
            return node
    return None


def _dq_source(c: _Converter, value: str) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(integer values, scales, axis) of a constant DequantizeLinear output, or None."""
    for node in c.model.graph.node:
        if node.op_type == "DequantizeLinear" and node.output[0] == value and node.input[0] in c.consts:
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            ints = np.asarray(c.consts[node.input[0]])
            return ints, np.asarray(c.consts[node.input[1]], np.float32).reshape(-1), axis % max(ints.ndim, 1)
    return None


def _quantized_operand(c: _Converter, p: Node, which: str) -> tuple[onnx.NodeProto, np.ndarray, np.ndarray, int]:
    """The ONNX node behind IR node p and its weights' or bias's (integers, scales, axis)."""
    node = _onnx_node(c, p.name)
    if node is None:
        raise ModelError(f"{c.path}: node '{p.name}' ({p.op}): no ONNX node of that name to read its quantization")
    qlinear = {"QLinearConv": (3, 4, 8), "QLinearMatMul": (3, 4, None), "QGemm": (3, 4, 6)}
    if node.op_type in qlinear:
        wi, si, bi = qlinear[node.op_type]
        i = wi if which == "weights" else bi
        ints = np.asarray(c.consts[node.input[i]])
        scales = np.asarray(c.consts[node.input[si]], np.float32).reshape(-1)
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        axis = 0 if which == "bias" or node.op_type == "QLinearConv" or trans_b else 1
        return node, ints, scales, axis
    found = _dq_source(c, node.input[1 if which == "weights" else 2])
    if found is None:
        raise ModelError(f"{c.path}: node '{p.name}' ({node.op_type}): {which} between quantized activations are "
                         "float, not a DequantizeLinear of integers")
    return node, *found


def _int8_weights(c: _Converter, p: Node) -> str:
    """int8 weights of conv / fully-connected node p: its folded float weights over the ONNX scales, which must
    give those floats back bit for bit (so the int8 kernel multiplies by exactly the weights ONNX means)."""
    g = c.g
    w = g.tensor(p.inputs[1])
    node, ints, scales, axis = _quantized_operand(c, p, "weights")
    out_axis = 0 if node.op_type in ("Conv", "QLinearConv") else None
    if node.op_type in ("Gemm", "QGemm"):
        out_axis = 0 if next((a.i for a in node.attribute if a.name == "transB"), 0) else 1
    elif node.op_type in ("MatMul", "QLinearMatMul"):
        out_axis = 1
    if scales.size > 1 and axis != out_axis:
        raise UnsupportedOpError(f"{node.op_type} (weights quantized per channel along axis {axis}, not the output "
                                 "channels)", p.name, str(c.path))
    ir_axis = WEIGHT_AXIS[p.op]
    shape = [1] * w.data.ndim
    if scales.size > 1:
        shape[ir_axis] = -1
    s = scales.reshape(shape)
    q = np.rint(w.data.astype(np.float64) / s.astype(np.float64))
    if (q.min(initial=0) < -128 or q.max(initial=0) > 127
            or not np.array_equal((q.astype(np.float32) * s).astype(np.float32), w.data)):
        raise UnsupportedOpError(f"{node.op_type} (weights that are not symmetric int8: zero point 0, or 128 for "
                                 "uint8)", p.name, str(c.path))
    quant = Quant(scales, np.zeros(scales.size, np.int32), ir_axis if scales.size > 1 else None)
    name = _fresh(g, f"{w.name}_int8")
    g.add_tensor(Tensor(name, w.shape, "int8", quant, q.astype(np.int8)))
    return name


def _int32_bias(c: _Converter, p: Node, xq: Quant, wq: Quant) -> str:
    """The ONNX int32 bias, at TFLM's bias scale input_scale * weight_scale (checked against the folded floats)."""
    g = c.g
    b = g.tensor(p.inputs[2])
    node, ints, _, _ = _quantized_operand(c, p, "bias")
    scale = (np.float32(xq.s) * wq.scale).astype(np.float32)
    ints = np.asarray(ints).reshape(-1)
    if ints.dtype != np.int32 or ints.size != b.size or not np.array_equal(
            (ints.astype(np.float32) * np.broadcast_to(scale, ints.shape)).astype(np.float32), b.data.reshape(-1)):
        raise UnsupportedOpError(f"{node.op_type} (a bias that is not int32 at scale input_scale * weight_scale)",
                                 p.name, str(c.path))
    name = _fresh(g, f"{b.name}_int32")
    g.add_tensor(Tensor(name, b.shape, "int32",
                        Quant(scale, np.zeros(scale.size, np.int32), 0 if scale.size > 1 else None), ints))
    return name
