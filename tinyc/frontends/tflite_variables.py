"""TFLite resource variables (VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE) and the CALL_ONCE that initialises
them (merged into tflite.CONVERTERS): one persistent buffer per variable, READ_VARIABLE a read_variable node
(a copy out of it), ASSIGN_VARIABLE an assign_variable node (a copy into it); VAR_HANDLE and CALL_ONCE leave no
node.

Accepted is the form TFLite's converter writes: subgraph 0 may start with one CALL_ONCE whose initialisation
subgraph (the model's only other subgraph) holds nothing but VAR_HANDLE and ASSIGN_VARIABLE of constants.
A variable is its VAR_HANDLE's shared_name. TFLM sizes it by the first ASSIGN_VARIABLE it prepares (subgraph 0's
before the initialisation subgraph's) and fills it with that tensor's zero point as an int8 in every byte (0
without quantization); a fresh interpreter's first invoke runs CALL_ONCE, and MicroInterpreter::Reset() returns
every variable to that fill without running CALL_ONCE again. tinyc's initial state (at start, for each
independent inference and after `<name>_reset()`) is a fresh interpreter's: the values the initialisation
subgraph assigns, else the fill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions

from tinyc.errors import ModelError, shown
from tinyc.ir.graph import check_shape


@dataclass
class _Use:
    dtype: str
    shape: tuple[int, ...]
    zero_point: int | None
    what: str  # for messages: "READ_VARIABLE operator 3 of subgraph 0"


@dataclass
class Variable:
    name: str  # its shared_name (up to a NUL byte)
    container: str | None  # None when absent
    reads: list[_Use] = field(default_factory=list)
    assigns: list[_Use] = field(default_factory=list)  # in TFLM's prepare order: subgraph 0, then the init one
    init: np.ndarray | None = None  # the value the initialisation subgraph assigns last

    def attrs(self) -> dict:
        """The IR node attributes: the variable's name, dtype, shape and initial value."""
        first = self.assigns[0]
        fill = (first.zero_point or 0) & 0xFF
        nbytes = math.prod(first.shape) * np.dtype(first.dtype).itemsize
        value = self.init if self.init is not None else np.full(nbytes, fill, np.uint8).view(first.dtype)
        return {"variable": self.name, "dtype": first.dtype, "shape": first.shape,
                "init": np.ascontiguousarray(value).reshape(first.shape)}


class Variables:
    """The variables of a model, read from its subgraph 0 and CALL_ONCE's initialisation subgraph; raises
    ModelError for any other use of several subgraphs or of resources."""

    def __init__(self, model: tflite.Model, size: int, path: Path):
        self.model, self.size, self.path = model, size, path
        self.handles: dict[tuple[int, int], Variable] = {}  # (subgraph, tensor index) -> variable
        self.by_name: dict[str, Variable] = {}
        count = model.SubgraphsLength()
        if count < 1:
            raise ModelError(f"{path}: the model has no subgraph")
        init = self._init_subgraph()
        if count != 1 + (init is not None):
            raise ModelError(f"{path}: {count} subgraphs; tinyc reads one, and CALL_ONCE's initialisation subgraph "
                             "(control flow such as WHILE or IF is not supported)")
        self._scan(0)
        if init is not None:
            self._scan(init)
        for var in self.by_name.values():
            self._check(var)

    def handle(self, op: tflite.Operator) -> Variable:
        """The variable an operator of subgraph 0 reads or assigns (its input 0)."""
        return self.handles[(0, int(op.InputsAsNumpy()[0]))]

    def _ops(self, sub: int) -> list[tuple[tflite.Operator, int]]:
        g = self.model.Subgraphs(sub)
        if g.OperatorsLength() * 4 > self.size or self.model.OperatorCodesLength() * 4 > self.size:
            raise ModelError(f"{self.path}: malformed TFLite file ({g.OperatorsLength()} operators in subgraph "
                             f"{sub}, {self.size} bytes)")
        out = []
        for k in range(g.OperatorsLength()):
            op = g.Operators(k)
            if not 0 <= op.OpcodeIndex() < self.model.OperatorCodesLength():
                raise ModelError(f"{self.path}: operator {k} of subgraph {sub} has opcode index {op.OpcodeIndex()} "
                                 "out of range")
            code = self.model.OperatorCodes(op.OpcodeIndex())
            out.append((op, max(code.BuiltinCode(), code.DeprecatedBuiltinCode())))
        return out

    def _init_subgraph(self) -> int | None:
        ops = self._ops(0)
        at = [k for k, (_, code) in enumerate(ops) if code == Op.CALL_ONCE]
        if not at:
            return None
        if at != [0]:
            raise ModelError(f"{self.path}: CALL_ONCE is supported only as the first operator of subgraph 0 (the "
                             "form TFLite's converter writes)")
        opts = tflite.CallOnceOptions()
        table = ops[0][0].BuiltinOptions()
        index = -1
        if table is not None and ops[0][0].BuiltinOptionsType() == BuiltinOptions.CallOnceOptions:
            opts.Init(table.Bytes, table.Pos)
            index = int(opts.InitSubgraphIndex())
        if not 1 <= index < self.model.SubgraphsLength():
            raise ModelError(f"{self.path}: CALL_ONCE names initialisation subgraph {index}, which the model lacks")
        return index

    def _scan(self, sub: int) -> None:
        g = self.model.Subgraphs(sub)
        for k, (op, code) in enumerate(self._ops(sub)):
            what = f"{_NAMES.get(code, f'builtin#{code}')} operator {k} of subgraph {sub}"
            if sub != 0 and code not in (Op.VAR_HANDLE, Op.ASSIGN_VARIABLE):
                raise ModelError(f"{self.path}: CALL_ONCE's initialisation subgraph may hold only VAR_HANDLE and "
                                 f"ASSIGN_VARIABLE of constants; found {what}")
            ins = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
            outs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
            if code == Op.VAR_HANDLE:
                if len(outs) != 1:
                    raise ModelError(f"{self.path}: {what} needs one output")
                self.handles[(sub, outs[0])] = self._variable(op, what)
            elif code == Op.READ_VARIABLE:
                if len(ins) != 1 or len(outs) != 1:
                    raise ModelError(f"{self.path}: {what} needs one input and one output")
                self._of(sub, ins[0], what).reads.append(self._use(g, outs[0], what))
            elif code == Op.ASSIGN_VARIABLE:
                if len(ins) != 2 or outs:
                    raise ModelError(f"{self.path}: {what} needs two inputs and no output")
                var = self._of(sub, ins[0], what)
                var.assigns.append(self._use(g, ins[1], what))
                if sub != 0:
                    var.init = self._constant(g, ins[1], what)

    def _variable(self, op: tflite.Operator, what: str) -> Variable:
        opts = tflite.VarHandleOptions()
        table = op.BuiltinOptions()
        if table is not None and op.BuiltinOptionsType() != BuiltinOptions.VarHandleOptions:
            table = None  # an options table of another type: absent, as in TFLM
        if table is not None:
            opts.Init(table.Bytes, table.Pos)
        name, container = (opts.SharedName(), opts.Container()) if table is not None else (None, None)
        # TFLM compares them as C strings: up to the first NUL byte; no container matches any
        name = _c_string(name)
        if not name:
            raise ModelError(f"{self.path}: {what} has no shared_name")
        container = _c_string(container)
        var = self.by_name.setdefault(name, Variable(name, container))
        if var.container != container:  # TFLM would keep them apart, or match either: not supported
            raise ModelError(f"{self.path}: variable '{shown(name)}' is named in two containers")
        return var

    def _of(self, sub: int, index: int, what: str) -> Variable:
        var = self.handles.get((sub, index))
        if var is None:
            raise ModelError(f"{self.path}: {what} takes a resource that no VAR_HANDLE of its subgraph makes")
        return var

    def _tensor(self, g: tflite.SubGraph, index: int, what: str) -> tflite.Tensor:
        if not 0 <= index < g.TensorsLength():
            raise ModelError(f"{self.path}: {what} has tensor index {index} out of range")
        return g.Tensors(index)

    def _use(self, g: tflite.SubGraph, index: int, what: str) -> _Use:
        from tinyc.frontends.tflite import TENSOR_TYPES

        t = self._tensor(g, index, what)
        if t.Type() not in TENSOR_TYPES:
            raise ModelError(f"{self.path}: {what} has a value of unsupported type {t.Type()}")
        dtype = TENSOR_TYPES[t.Type()]
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else (1,)
        check_shape(shape, dtype, f"{shown(self.path)}: the value of {what}")
        q = t.Quantization()
        zp = None
        if q is not None and q.ScaleLength() and q.ZeroPointLength():
            zp = int(q.ZeroPointAsNumpy()[0])
        return _Use(dtype, shape, zp, what)

    def _constant(self, g: tflite.SubGraph, index: int, what: str) -> np.ndarray:
        from tinyc.frontends.tflite import TENSOR_TYPES

        t = self._tensor(g, index, what)
        buf = self.model.Buffers(t.Buffer()) if 0 < t.Buffer() < self.model.BuffersLength() else None
        if buf is None or not buf.DataLength():
            raise ModelError(f"{self.path}: {what} assigns a computed value; the initialisation subgraph may "
                             "assign constants only")
        use = self._use(g, index, what)
        raw = buf.DataAsNumpy()
        if raw.size != math.prod(use.shape) * np.dtype(use.dtype).itemsize:
            raise ModelError(f"{self.path}: the constant of {what} has {raw.size} bytes for shape {list(use.shape)}")
        return raw.view(TENSOR_TYPES[t.Type()]).reshape(use.shape)

    def _check(self, var: Variable) -> None:
        if not var.assigns:
            if var.reads:
                raise ModelError(f"{self.path}: variable '{shown(var.name)}' is read but never assigned (TFLM gives "
                                 "it no buffer)")
            return
        first = var.assigns[0]
        for use in var.reads + var.assigns:
            if use.dtype != first.dtype or math.prod(use.shape) != math.prod(first.shape):
                raise ModelError(f"{self.path}: variable '{shown(var.name)}' is {first.dtype}{list(first.shape)} "
                                 f"({first.what}) but {use.dtype}{list(use.shape)} in {use.what}")


_NAMES = {v: k for k, v in vars(Op).items() if not k.startswith("_")}


def _c_string(raw: bytes | None) -> str | None:
    """A flatbuffer string as TFLM's c_str() reads it, as text (undecodable bytes kept apart: surrogateescape)."""
    return None if raw is None else raw.split(b"\0")[0].decode("utf-8", "surrogateescape")


def _read_variable(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    var = r.variables.handle(op)
    ins.clear()  # the handle: the node reads the variable's buffer
    return "read_variable", var.attrs()


def _assign_variable(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    var = r.variables.handle(op)
    del ins[0]
    return "assign_variable", var.attrs()


CONVERTERS = {
    "VAR_HANDLE": lambda r, op, ins: None,  # resolved by Variables: no node
    "CALL_ONCE": lambda r, op, ins: None,  # its initial values are the variables' initial state
    "READ_VARIABLE": _read_variable,
    "ASSIGN_VARIABLE": _assign_variable,
}
