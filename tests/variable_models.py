"""TFLite flatbuffers with resource variables, written directly with the flatbuffers builder (tinyc's exporter
writes one subgraph): what TFLite's converter emits for a tf.Variable held between calls, subgraph 0 starting
with CALL_ONCE whose subgraph 1 assigns the variables their initial values (VAR_HANDLE + ASSIGN_VARIABLE of
constants), and the streaming models of tests/test_variable_ops.py built from it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TYPES = {"float32": 0, "int32": 2, "int8": 9, "resource": 13}


@dataclass
class T:
    """A tensor: its dtype ("resource" for a variable handle), shape, constant data, (scale, zero point)."""

    name: str
    dtype: str
    shape: list[int]
    data: np.ndarray | None = None
    quant: tuple[float, int] | None = None


@dataclass
class Op:
    code: str  # a BuiltinOperator name
    inputs: list[int]
    outputs: list[int]
    options: tuple[str, dict] | None = None  # ("VarHandleOptions", {"SharedName": "state"}), ...


@dataclass
class Sub:
    tensors: list[T]
    ops: list[Op]
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)


def build_model(subgraphs: list[Sub]) -> bytes:
    import flatbuffers
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite.BuiltinOptions import BuiltinOptions

    b = flatbuffers.Builder(4096)
    codes: list[str] = []
    buffers: list[np.ndarray | None] = [None]

    def vector(start, items: list[int]) -> int:  # noqa: ANN001
        start(b, len(items))
        for off in reversed(items):
            b.PrependUOffsetTRelative(off)
        return b.EndVector()

    def ints(values: list[int]) -> int:
        return b.CreateNumpyVector(np.array(values, np.int32))

    def tensor(t: T) -> int:
        name, shape = b.CreateString(t.name), ints(t.shape)
        quant = None
        if t.quant is not None:
            scale = b.CreateNumpyVector(np.float32([t.quant[0]]))
            zp = b.CreateNumpyVector(np.int64([t.quant[1]]))
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, scale)
            tflite.QuantizationParametersAddZeroPoint(b, zp)
            quant = tflite.QuantizationParametersEnd(b)
        buffer = 0
        if t.data is not None:
            buffer = len(buffers)
            buffers.append(np.ascontiguousarray(t.data))
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, TYPES[t.dtype])
        tflite.TensorAddBuffer(b, buffer)
        tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        return tflite.TensorEnd(b)

    def options(kind: str, fields: dict) -> int:
        values = {k: b.CreateString(v) if isinstance(v, str) else v for k, v in fields.items()}
        getattr(tflite, f"{kind}Start")(b)
        for k, v in values.items():
            getattr(tflite, f"{kind}Add{k}")(b, v)
        return getattr(tflite, f"{kind}End")(b)

    def operator(op: Op) -> int:
        if op.code not in codes:
            codes.append(op.code)
        i, o = ints(op.inputs), ints(op.outputs)
        opts = options(*op.options) if op.options else None
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, codes.index(op.code))
        tflite.OperatorAddInputs(b, i)
        tflite.OperatorAddOutputs(b, o)
        if opts is not None:
            tflite.OperatorAddBuiltinOptionsType(b, getattr(BuiltinOptions, op.options[0]))
            tflite.OperatorAddBuiltinOptions(b, opts)
        return tflite.OperatorEnd(b)

    def subgraph(s: Sub) -> int:
        t = vector(tflite.SubGraphStartTensorsVector, [tensor(x) for x in s.tensors])
        o = vector(tflite.SubGraphStartOperatorsVector, [operator(op) for op in s.ops])
        i, u = ints(s.inputs), ints(s.outputs)
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, t)
        tflite.SubGraphAddOperators(b, o)
        tflite.SubGraphAddInputs(b, i)
        tflite.SubGraphAddOutputs(b, u)
        return tflite.SubGraphEnd(b)

    subs = vector(tflite.ModelStartSubgraphsVector, [subgraph(s) for s in subgraphs])
    buffer_offsets = []
    for data in buffers:
        raw = b.CreateNumpyVector(data.reshape(-1).view(np.uint8)) if data is not None else None
        tflite.BufferStart(b)
        if raw is not None:
            tflite.BufferAddData(b, raw)
        buffer_offsets.append(tflite.BufferEnd(b))
    op_codes = []
    for name in codes:
        code = getattr(BuiltinOperator, name)
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        tflite.OperatorCodeAddBuiltinCode(b, code)
        tflite.OperatorCodeAddVersion(b, 1)
        op_codes.append(tflite.OperatorCodeEnd(b))
    bufs = vector(tflite.ModelStartBuffersVector, buffer_offsets)
    ops = vector(tflite.ModelStartOperatorCodesVector, op_codes)
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, ops)
    tflite.ModelAddSubgraphs(b, subs)
    tflite.ModelAddBuffers(b, bufs)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def var_handle(name: str, out: int) -> Op:
    return Op("VAR_HANDLE", [], [out], ("VarHandleOptions", {"SharedName": name}))


def call_once(index: int = 1) -> Op:
    return Op("CALL_ONCE", [], [], ("CallOnceOptions", {"InitSubgraphIndex": index}))


def init_subgraph(values: dict[str, T]) -> Sub:
    """CALL_ONCE's subgraph: each variable (by shared name) assigned its constant."""
    tensors: list[T] = []
    ops: list[Op] = []
    for name, value in values.items():
        tensors += [T(f"{name}_handle", "resource", [1]), value]
        ops += [var_handle(name, len(tensors) - 2), Op("ASSIGN_VARIABLE", [len(tensors) - 2, len(tensors) - 1], [])]
    return Sub(tensors, ops)


def add(a: int, b: int, out: int) -> Op:
    return Op("ADD", [a, b], [out], ("AddOptions", {"FusedActivationFunction": 0}))


def accumulator_f32(rng: np.random.Generator, n: int = 8) -> bytes:
    """state += x; y = state + x, the state read again after its assignment (the read sees the new value)."""
    init = rng.normal(0, 2, (1, n)).astype(np.float32)
    ts = [T("x", "float32", [1, n]), T("handle", "resource", [1]), T("old", "float32", [1, n]),
          T("new", "float32", [1, n]), T("again", "float32", [1, n]), T("y", "float32", [1, n])]
    ops = [call_once(), var_handle("acc", 1), Op("READ_VARIABLE", [1], [2]), add(0, 2, 3),
           Op("ASSIGN_VARIABLE", [1, 3], []), Op("READ_VARIABLE", [1], [4]), add(4, 0, 5)]
    return build_model([Sub(ts, ops, [0], [5]), init_subgraph({"acc": T("acc_init", "float32", [1, n], init)})])


def leaky_s8(rng: np.random.Generator, n: int = 16) -> bytes:
    """An int8 leaky integrator: state' = state + x, the bytes stored read back at half the output's scale."""
    q_state, q_x, q_y = (0.05, 3), (0.1, -2), (0.1, 5)
    init = rng.integers(-128, 128, (1, n)).astype(np.int8)
    ts = [T("x", "int8", [1, n], quant=q_x), T("handle", "resource", [1]), T("state", "int8", [1, n], quant=q_state),
          T("y", "int8", [1, n], quant=q_y)]
    ops = [call_once(), var_handle("leak", 1), Op("READ_VARIABLE", [1], [2]), add(2, 0, 3),
           Op("ASSIGN_VARIABLE", [1, 3], [])]
    values = {"leak": T("leak_init", "int8", [1, n], init, q_state)}
    return build_model([Sub(ts, ops, [0], [3]), init_subgraph(values)])


def _ring(dtype: str, frames: int, width: int, quant: tuple[float, int] | None, first: int) -> tuple[list[T], list[Op]]:
    """READ_VARIABLE the last `frames` frames, CONCATENATION with the new one (tensor 0), STRIDED_SLICE the
    tail and ASSIGN_VARIABLE it: the window is tensor first + 2."""
    k = first
    ts = [T("ring_handle", "resource", [1]), T("frames", dtype, [1, frames, width], quant=quant),
          T("window", dtype, [1, frames + 1, width], quant=quant),
          T("begin", "int32", [3], np.int32([0, 1, 0])), T("end", "int32", [3], np.int32([1, frames + 1, width])),
          T("strides", "int32", [3], np.int32([1, 1, 1])), T("tail", dtype, [1, frames, width], quant=quant)]
    ops = [var_handle("ring", k), Op("READ_VARIABLE", [k], [k + 1]),
           Op("CONCATENATION", [k + 1, 0], [k + 2], ("ConcatenationOptions", {"Axis": 1})),
           Op("STRIDED_SLICE", [k + 2, k + 3, k + 4, k + 5], [k + 6], ("StridedSliceOptions", {})),
           Op("ASSIGN_VARIABLE", [k, k + 6], [])]
    return ts, ops


def ring_f32(rng: np.random.Generator, frames: int = 3, width: int = 5) -> bytes:
    """The streaming keyword models' window: the output is the last frames + 1 frames."""
    ts, ops = _ring("float32", frames, width, None, 1)
    init = rng.normal(0, 1, (1, frames, width)).astype(np.float32)
    main = Sub([T("x", "float32", [1, 1, width])] + ts, [call_once()] + ops, [0], [3])
    return build_model([main, init_subgraph({"ring": T("ring_init", "float32", [1, frames, width], init)})])


def ring_acc_s8(rng: np.random.Generator, frames: int = 4, width: int = 6) -> bytes:
    """Two variables: the ring buffer and a leaky sum of the frames; the output is the window followed by the
    new sum (one quantization for the window, the sum as stored read at half its scale)."""
    q, q_acc = (0.1, -4), (0.05, 1)
    ts, ops = _ring("int8", frames, width, q, 1)
    k = len(ts) + 1
    ts += [T("acc_handle", "resource", [1]), T("acc", "int8", [1, 1, width], quant=q_acc),
           T("acc_new", "int8", [1, 1, width], quant=q), T("y", "int8", [1, frames + 2, width], quant=q)]
    ops += [var_handle("acc", k), Op("READ_VARIABLE", [k], [k + 1]), add(k + 1, 0, k + 2),
            Op("ASSIGN_VARIABLE", [k, k + 2], []),
            Op("CONCATENATION", [3, k + 2], [k + 3], ("ConcatenationOptions", {"Axis": 1}))]
    main = Sub([T("x", "int8", [1, 1, width], quant=q)] + ts, [call_once()] + ops, [0], [k + 3])
    values = {"ring": T("ring_init", "int8", [1, frames, width], rng.integers(-128, 128, (1, frames, width))
                        .astype(np.int8), q),
              "acc": T("acc_init", "int8", [1, 1, width], rng.integers(-128, 128, (1, 1, width)).astype(np.int8),
                       q_acc)}
    return build_model([main, init_subgraph(values)])


def ring_default_s8(frames: int = 2, width: int = 3, zero_point: int = -5) -> bytes:
    """No CALL_ONCE: TFLM fills the variable with the zero point of the tensor its first ASSIGN_VARIABLE stores."""
    ts, ops = _ring("int8", frames, width, (0.2, zero_point), 1)
    return build_model([Sub([T("x", "int8", [1, 1, width], quant=(0.2, zero_point))] + ts, ops, [0], [3])])


def overwrite_f32(rng: np.random.Generator, n: int = 4) -> bytes:
    """y = x + state, then the state assigned a constant: the first call of a stream sees the initial value,
    the later ones the constant."""
    init, value = rng.normal(0, 1, (2, 1, n)).astype(np.float32)
    ts = [T("x", "float32", [1, n]), T("handle", "resource", [1]), T("state", "float32", [1, n]),
          T("y", "float32", [1, n]), T("value", "float32", [1, n], value)]
    ops = [call_once(), var_handle("s", 1), Op("READ_VARIABLE", [1], [2]), add(0, 2, 3),
           Op("ASSIGN_VARIABLE", [1, 4], [])]
    return build_model([Sub(ts, ops, [0], [3]), init_subgraph({"s": T("s_init", "float32", [1, n], init)})])
