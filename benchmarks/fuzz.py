"""Fuzzing tinyc with mutants of the real models in ../shared/models: every mutant is read, verified,
lowered, memory-planned and run (or refused) exactly as the CLI does, and must end in success or one
clean error line.

    .venv/bin/python benchmarks/fuzz.py --mutants 100000 --workers 2   # writes benchmarks/fuzz.md

Mutation kinds (each mutant applies one, drawn per seed file from its format's list):

- bytes, every format: `flip` (1-8 bits), `set` (1-12 bytes), `insert` (1-16 bytes), `delete` (a span of
  1-64 bytes), `truncate`, `int32` (an aligned word overwritten with 0, -1, 2**31-1, -2**31, 2**16, 2**24 or
  the float bits of inf / nan / FLT_MAX). Positions fall outside the weight data with probability 0.7.
- .tflite, patched in place through the flatbuffer tables: `tfl_shape` (a dimension), `tfl_quant` (a scale,
  zero point or quantized dimension), `tfl_buffer` (a tensor's buffer index or a buffer's length), `tfl_name`
  (hostile bytes in a tensor name, or its length grown into the following bytes), `tfl_operator` (an
  operator's input / output tensor index, opcode index or builtin code), `tfl_io` (a graph input / output),
  `tfl_options` (a byte of an operator's options).
- .onnx, edited through the onnx API: `onnx_name` (a node, value, graph or op name made hostile: control
  characters, terminal escapes, NUL, invalid UTF-8, 10,000 characters), `onnx_dim` (input / initializer /
  output dimensions), `onnx_attr` (an attribute value), `onnx_init` (initializer data type, data or size),
  `onnx_struct` (a node removed, duplicated or moved, an initializer dropped, an output renamed).
- llama2.c checkpoint: `llm_header` (one header field), `llm_resize` (a consistent header with the file
  resized to match), `llm_weights` (weights set to nan / inf / +-3e38); tokenizer: `tok_header`,
  `tok_entry` (a token's length, score or bytes). Every llama2.c mutant runs `generate` for 3 steps with a
  prompt drawn from plain, empty, control characters and non-UTF-8 bytes.

Outcomes: ok, clean error (a TinycError whose message is one printable line), traceback (any other
exception), multi-line (a TinycError whose message holds a newline or another non-printable character,
before the CLI's own guard), hang (over the per-mutant time limit), signal (the worker process died).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import struct
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO.parent / "shared" / "models"
LLM_CHECKPOINT = "llm/stories260K.bin"
LLM_TOKENIZER = "llm/tok512.bin"

BYTE_KINDS = ("flip", "set", "insert", "delete", "truncate", "int32")
KINDS = {
    "tflite": BYTE_KINDS + ("tfl_shape", "tfl_quant", "tfl_buffer", "tfl_name", "tfl_operator", "tfl_io",
                            "tfl_options"),
    "onnx": BYTE_KINDS + ("onnx_name", "onnx_dim", "onnx_attr", "onnx_init", "onnx_struct"),
    "checkpoint": BYTE_KINDS + ("llm_header", "llm_resize", "llm_weights"),
    "tokenizer": BYTE_KINDS + ("tok_header", "tok_entry"),
}
OUTCOMES = ("ok", "clean error", "traceback", "signal", "hang", "multi-line")
EXTREME_INTS = (0, -1, 1, 2, 3, 2**31 - 1, -(2**31), 2**16, 2**20, 2**24, 100_000)
EXTREME_FLOATS = (float("inf"), float("-inf"), float("nan"), 0.0, -1.0, 1e-45, 1e-38, 1e-30, 1e30, 1e38,
                  3.4e38, -3.4e38)
HOSTILE_TEXT = ("a\nb", "x\x1b[31mred\x1b[0m", "nul\x00byte", "*/ x = 1; /*", "\u202egnp.exe", "\t\r\v\f",
                "line\n" * 50, "é✓\U0001f600", "'\"\\", "z" * 10_000)
HOSTILE_BYTES = (b"\xff\xfe\xfd", b"\xc3\x28", b"a\x80b", b"\xed\xa0\x80", b"\n\x00\x1b[2J")
PROMPTS = ("Once upon a time", "", "\x00\n\x1b[31m", "caf\udce9 \udcff\udcfe", "é✓\U0001f600 " * 4)
RUN_ELEMENTS = 1 << 22  # the reference run is skipped for an accepted mutant with more activation values
RUN_MACS = 200_000_000  # or more multiply-accumulates than this (still loaded, verified, lowered, planned)


# --- seeds ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    path: Path
    fmt: str  # tflite, onnx, checkpoint, tokenizer

    @property
    def name(self) -> str:
        return str(self.path.relative_to(MODELS))


def seeds(models: Path = MODELS) -> list[Seed]:
    """Every .tflite and .onnx model, the llama2.c checkpoint and its tokenizer."""
    out = [Seed(p, p.suffix[1:]) for p in sorted(models.rglob("*")) if p.suffix in (".tflite", ".onnx")]
    for rel, fmt in ((LLM_CHECKPOINT, "checkpoint"), (LLM_TOKENIZER, "tokenizer")):
        if (models / rel).is_file():
            out.append(Seed(models / rel, fmt))
    return out


@cache
def seed_bytes(path: Path) -> bytes:
    return path.read_bytes()


@cache
def cold_ranges(path: Path, fmt: str) -> tuple[tuple[int, int], ...]:
    """Byte ranges holding weight data (mutated less often: flipping a weight tests little)."""
    data = seed_bytes(path)
    if fmt == "tflite":
        import tflite

        model = tflite.Model.GetRootAsModel(data, 0)
        out = []
        for i in range(model.BuffersLength()):
            tab = model.Buffers(i)._tab
            off = tab.Offset(4)
            if off and tab.VectorLen(off) > 64:
                out.append((tab.Vector(off), tab.Vector(off) + tab.VectorLen(off)))
        return tuple(out)
    if fmt == "checkpoint":
        return ((28, len(data)),)
    if fmt == "onnx":
        model = onnx_seed(path)
        out = []
        for t in model.graph.initializer:
            raw = t.raw_data or np.asarray(t.float_data, np.float32).tobytes()
            at = data.find(raw[:64]) if len(raw) > 64 else -1
            if at >= 0:
                out.append((at, at + len(raw)))
        return tuple(out)
    return ()


def _position(rng: random.Random, seed: Seed, n: int) -> int:
    if n <= 1:
        return 0
    cold = cold_ranges(seed.path, seed.fmt)
    for _ in range(8):
        pos = rng.randrange(n)
        if rng.random() < 0.3 or not any(a <= pos < b for a, b in cold):
            return pos
    return rng.randrange(n)


# --- byte mutations -------------------------------------------------------------------------------


def _bytes_mutation(kind: str, rng: random.Random, seed: Seed, data: bytes) -> bytes:
    buf = bytearray(data)
    n = len(buf)
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            buf[_position(rng, seed, n)] ^= 1 << rng.randrange(8)
    elif kind == "set":
        for _ in range(rng.randint(1, 12)):
            buf[_position(rng, seed, n)] = rng.randrange(256)
    elif kind == "insert":
        pos = _position(rng, seed, n)
        buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == "delete":
        pos = _position(rng, seed, n)
        del buf[pos:pos + rng.randint(1, 64)]
    elif kind == "truncate":
        del buf[rng.randrange(n):]
    elif kind == "int32":
        pos = _position(rng, seed, n) & ~3
        word = rng.choice(EXTREME_INTS + (0x7F800000, 0x7FC00000, 0x7F7FFFFF))
        buf[pos:pos + 4] = struct.pack("<I", word & 0xFFFFFFFF)[: max(0, n - pos)]
    else:
        raise ValueError(kind)
    return bytes(buf)


# --- TFLite flatbuffer mutations (in place, the structure kept) -----------------------------------


def _put(buf: bytearray, pos: int, fmt: str, value: int | float) -> None:
    size = struct.calcsize(fmt)
    if 0 <= pos and pos + size <= len(buf):
        if fmt[-1] in "bhiq":
            bits = 8 * size
            value = (int(value) + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
        elif fmt[-1] in "BHIQ":
            value = int(value) % (1 << (8 * size))
        buf[pos:pos + size] = struct.pack(fmt, value)


def _field(tab, slot: int) -> int | None:  # noqa: ANN001
    off = tab.Offset(slot)
    return tab.Pos + off if off else None


def _vector(tab, slot: int) -> tuple[int, int] | None:  # noqa: ANN001
    """(position of element 0, length) of a vector field."""
    off = tab.Offset(slot)
    return (tab.Vector(off), tab.VectorLen(off)) if off else None


def _tflite_mutation(kind: str, rng: random.Random, data: bytes) -> bytes:
    import tflite

    buf = bytearray(data)
    model = tflite.Model.GetRootAsModel(data, 0)
    sub = model.Subgraphs(0)
    n_tensors = sub.TensorsLength()
    tensor = sub.Tensors(rng.randrange(n_tensors))._tab
    ints = EXTREME_INTS + (n_tensors, n_tensors - 1, model.BuffersLength())
    if kind == "tfl_shape":
        vec = _vector(tensor, 4)
        if vec and vec[1]:
            _put(buf, vec[0] + 4 * rng.randrange(vec[1]), "<i", rng.choice(ints + (65_536, 1 << 30)))
    elif kind == "tfl_quant":
        q = tensor.Offset(12)
        if q:
            qtab = tflite.QuantizationParameters()
            qtab.Init(tensor.Bytes, tensor.Indirect(tensor.Pos + q))
            what = rng.choice(("scale", "zero_point", "dim"))
            if what == "scale" and (vec := _vector(qtab._tab, 8)) and vec[1]:
                _put(buf, vec[0] + 4 * rng.randrange(vec[1]), "<f", rng.choice(EXTREME_FLOATS))
            elif what == "zero_point" and (vec := _vector(qtab._tab, 10)) and vec[1]:
                _put(buf, vec[0] + 8 * rng.randrange(vec[1]), "<q",
                     rng.choice((-(2**63), 2**63 - 1, 128, -129, 255, 2**31, 1000)))
            elif (pos := _field(qtab._tab, 16)) is not None:
                _put(buf, pos, "<i", rng.choice((-1, 1, 2, 3, 4, 100, 2**31 - 1)))
    elif kind == "tfl_buffer":
        if rng.random() < 0.5 and (pos := _field(tensor, 8)) is not None:
            _put(buf, pos, "<I", rng.choice((0, 1, rng.randrange(model.BuffersLength()), model.BuffersLength(),
                                             2**31 - 1)))
        else:
            b = model.Buffers(rng.randrange(model.BuffersLength()))._tab
            if (vec := _vector(b, 4)) and vec[1]:
                _put(buf, vec[0] - 4, "<I", rng.choice((0, 1, vec[1] - 1, vec[1] + 1, vec[1] * 2, 2**31 - 1)))
    elif kind == "tfl_name":
        off = tensor.Offset(10)
        if off:
            start = tensor.Indirect(tensor.Pos + off)
            length = struct.unpack_from("<I", buf, start)[0]
            if rng.random() < 0.3:
                _put(buf, start, "<I", rng.choice((length + 1, length * 4, len(buf) - start - 4, 2**31 - 1)))
            else:
                text = rng.choice(HOSTILE_BYTES + tuple(s.encode("utf-8", "surrogatepass") for s in HOSTILE_TEXT))
                fill = (text * (length // max(len(text), 1) + 1))[:length]
                buf[start + 4:start + 4 + length] = fill
    elif kind == "tfl_operator":
        op = sub.Operators(rng.randrange(sub.OperatorsLength()))._tab
        what = rng.choice(("inputs", "outputs", "opcode", "builtin"))
        if what in ("inputs", "outputs") and (vec := _vector(op, 6 if what == "inputs" else 8)) and vec[1]:
            _put(buf, vec[0] + 4 * rng.randrange(vec[1]), "<i",
                 rng.choice((-1, -2, rng.randrange(n_tensors), n_tensors, 2**31 - 1)))
        elif what == "opcode" and (pos := _field(op, 4)) is not None:
            _put(buf, pos, "<I", rng.choice((0, model.OperatorCodesLength(), 2**31 - 1,
                                             rng.randrange(model.OperatorCodesLength()))))
        else:
            code = model.OperatorCodes(rng.randrange(model.OperatorCodesLength()))._tab
            value = rng.randrange(210)
            for slot, fmt in ((4, "<b"), (10, "<i")):
                if (pos := _field(code, slot)) is not None:
                    _put(buf, pos, fmt, min(value, 127) if fmt == "<b" else value)
    elif kind == "tfl_io":
        vec = _vector(sub._tab, 6 if rng.random() < 0.5 else 8)
        if vec and vec[1]:
            _put(buf, vec[0] + 4 * rng.randrange(vec[1]), "<i",
                 rng.choice((-1, rng.randrange(n_tensors), n_tensors, 2**31 - 1)))
    elif kind == "tfl_options":
        op = sub.Operators(rng.randrange(sub.OperatorsLength()))._tab
        off = op.Offset(12)
        if off:
            table = op.Indirect(op.Pos + off)
            vtable = table - struct.unpack_from("<i", buf, table)[0]
            vlen = struct.unpack_from("<H", buf, vtable)[0]
            slots = [s for s in range(4, vlen, 2) if struct.unpack_from("<H", buf, vtable + s)[0]]
            if slots:
                pos = table + struct.unpack_from("<H", buf, vtable + rng.choice(slots))[0]
                if rng.random() < 0.5:
                    _put(buf, pos, "<B", rng.choice((0, 1, 2, 3, 4, 5, 6, 127, 128, 255)))
                else:
                    _put(buf, pos, "<i", rng.choice(EXTREME_INTS))
    else:
        raise ValueError(kind)
    return bytes(buf)


# --- ONNX mutations (through the onnx API) -------------------------------------------------------


@cache
def onnx_seed(path: Path):  # noqa: ANN201
    import onnx

    return onnx.load(str(path), load_external_data=False)


def _onnx_mutation(kind: str, rng: random.Random, path: Path) -> bytes:
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.ModelProto()
    model.CopyFrom(onnx_seed(path))
    g = model.graph
    raw_patch: tuple[bytes, bytes] | None = None
    if kind == "onnx_name":
        hostile = rng.choice(HOSTILE_TEXT + ("MARKER",))
        if hostile == "MARKER":  # invalid UTF-8: a marker of the same length, patched in the serialised bytes
            bad = rng.choice(HOSTILE_BYTES) * 3
            hostile = "Q" * len(bad)
            raw_patch = (hostile.encode(), bad)
        hostile = hostile.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        target = rng.choice(("node", "value", "value_once", "graph", "op_type", "input"))
        node = rng.choice(g.node)
        if target == "node":
            node.name = hostile
        elif target == "graph":
            g.name = hostile
        elif target == "op_type":
            node.op_type = hostile
        elif target == "input" and g.input:
            old = g.input[0].name
            _rename_value(g, old, hostile)
        else:
            names = [n for n in list(node.input) + list(node.output) if n]
            if names:
                old = rng.choice(names)
                if target == "value":
                    _rename_value(g, old, hostile)
                else:
                    for i, n in enumerate(node.input):
                        if n == old:
                            node.input[i] = hostile
    elif kind == "onnx_dim":
        pools = [v.type.tensor_type.shape.dim for v in list(g.input) + list(g.output) + list(g.value_info)
                 if v.type.HasField("tensor_type")]
        pools += [t.dims for t in g.initializer]
        pool = rng.choice([p for p in pools if len(p)] or [None])
        if pool is not None:
            i = rng.randrange(len(pool))
            value = rng.choice((0, -1, 1, 2, 2**31 - 1, 2**40, 100_000, 3))
            if hasattr(pool[i], "dim_value"):
                pool[i].Clear()
                pool[i].dim_value = value
            else:
                pool[i] = value
    elif kind == "onnx_attr":
        nodes = [n for n in g.node if n.attribute]
        if nodes:
            a = rng.choice(rng.choice(nodes).attribute)
            if a.type == onnx.AttributeProto.INT:
                a.i = rng.choice(EXTREME_INTS + (-(2**63), 2**63 - 1))
            elif a.type == onnx.AttributeProto.INTS and len(a.ints):
                a.ints[rng.randrange(len(a.ints))] = rng.choice(EXTREME_INTS + (-(2**40),))
                if rng.random() < 0.3:
                    a.ints.append(rng.choice(EXTREME_INTS))
            elif a.type == onnx.AttributeProto.FLOAT:
                a.f = rng.choice(EXTREME_FLOATS)
            elif a.type == onnx.AttributeProto.STRING:
                a.s = rng.choice(HOSTILE_BYTES + (b"SAME_UPPER", b"VALID", b"NOTSET"))
            elif a.type == onnx.AttributeProto.TENSOR:
                a.t.dims.append(rng.choice((0, 2, 2**31 - 1)))
    elif kind == "onnx_init":
        if g.initializer:
            t = rng.choice(g.initializer)
            what = rng.choice(("type", "values", "size"))
            value = numpy_helper.to_array(t)
            if what == "type":
                t.data_type = rng.choice((TensorProto.INT64, TensorProto.DOUBLE, TensorProto.FLOAT16,
                                          TensorProto.INT8, TensorProto.UINT8, TensorProto.BOOL, 0, 99))
            elif what == "values" and value.size:
                flat = value.reshape(-1).copy()
                if flat.dtype.kind == "f":
                    flat[rng.randrange(flat.size)] = rng.choice(EXTREME_FLOATS)
                else:
                    flat[rng.randrange(flat.size)] = rng.choice((0, -1, 2**31 - 1, -(2**31), 10**12))
                t.CopyFrom(numpy_helper.from_array(flat.reshape(value.shape), t.name))
            else:
                flat = value.reshape(-1)
                cut = flat[: rng.randrange(max(flat.size, 1))]
                new = numpy_helper.from_array(cut, t.name)
                new.ClearField("dims")
                new.dims.extend(t.dims)
                t.CopyFrom(new)
    elif kind == "onnx_struct":
        what = rng.choice(("remove", "duplicate", "move", "drop_init", "output"))
        nodes = list(g.node)
        if what == "remove" and nodes:
            del g.node[rng.randrange(len(nodes))]
        elif what == "duplicate" and nodes:
            g.node.insert(rng.randrange(len(nodes) + 1), rng.choice(nodes))
        elif what == "move" and len(nodes) > 1:
            i, j = rng.randrange(len(nodes)), rng.randrange(len(nodes))
            node = onnx.NodeProto()
            node.CopyFrom(g.node[i])
            del g.node[i]
            g.node.insert(j, node)
        elif what == "drop_init" and g.initializer:
            del g.initializer[rng.randrange(len(g.initializer))]
        elif g.output:
            g.output[0].name = rng.choice(("nowhere", g.input[0].name if g.input else "x", g.node[0].output[0]))
    else:
        raise ValueError(kind)
    data = model.SerializeToString()
    if raw_patch is not None:
        data = data.replace(*raw_patch)
    return data


def _rename_value(g, old: str, new: str) -> None:  # noqa: ANN001
    for node in g.node:
        for field in (node.input, node.output):
            for i, n in enumerate(field):
                if n == old:
                    field[i] = new
    for v in list(g.input) + list(g.output) + list(g.value_info) + list(g.initializer):
        if v.name == old:
            v.name = new


# --- llama2.c mutations ---------------------------------------------------------------------------


def _llm_mutation(kind: str, rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    if kind == "llm_header":
        field = rng.randrange(7)
        orig = struct.unpack_from("<i", buf, 4 * field)[0]
        _put(buf, 4 * field, "<i", rng.choice(EXTREME_INTS + (-orig, orig * 2, orig + 1, orig - 1, 1 << 16)))
    elif kind == "llm_resize":
        from tinyc.llm.checkpoint import expected_size, parse_header

        header = list(struct.unpack_from("<7i", buf, 0))
        field = rng.randrange(7)
        header[field] = rng.choice({0: (2, 4, 8, 16, 128), 1: (1, 2, 7, 400), 2: (1, 2, 6),
                                    3: (1, 2, 4, 16, 32), 4: (1, 2, 8), 5: (3, 4, 600, -512, -4),
                                    6: (1, 2, 3, 1024)}[field])
        struct.pack_into("<7i", buf, 0, *header)
        try:
            want = expected_size(parse_header(bytes(buf[:28]), "mutant"))
        except Exception:  # an inconsistent header: the frontend must say so
            return bytes(buf)
        if want > 64 << 20:
            return bytes(buf)
        if want <= len(buf):
            del buf[want:]
        else:
            extra = np.random.default_rng(rng.randrange(2**32)).standard_normal((want - len(buf)) // 4)
            buf += extra.astype("<f4").tobytes()
    elif kind == "llm_weights":
        for _ in range(rng.randint(1, 4)):
            pos = 28 + 4 * rng.randrange((len(buf) - 28) // 4)
            _put(buf, pos, "<f", rng.choice((float("nan"), float("inf"), float("-inf"), 3e38, -3e38, 1e-45)))
    elif kind == "tok_header":
        _put(buf, 0, "<i", rng.choice(EXTREME_INTS + (7, 8, 65_536, 65_537)))
    elif kind == "tok_entry":
        offsets, off = [], 4
        while off + 8 <= len(buf):
            n = struct.unpack_from("<i", buf, off + 4)[0]
            offsets.append(off)
            off += 8 + max(n, 0)
        at = rng.choice(offsets)
        what = rng.choice(("len", "score", "bytes"))
        if what == "len":
            _put(buf, at + 4, "<i", rng.choice(EXTREME_INTS))
        elif what == "score":
            _put(buf, at, "<f", rng.choice(EXTREME_FLOATS))
        else:
            n = struct.unpack_from("<i", buf, at + 4)[0]
            text = rng.choice(HOSTILE_BYTES + (b"\n\x00\x1b[31m",))
            buf[at + 8:at + 8 + n] = (text * (n + 1))[:n]
    else:
        raise ValueError(kind)
    return bytes(buf)


def mutate(rng: random.Random, seed: Seed) -> tuple[str, bytes]:
    """One mutant of the seed file: (mutation kind, file contents)."""
    kind = rng.choice(KINDS[seed.fmt])
    data = seed_bytes(seed.path)
    if kind in BYTE_KINDS:
        return kind, _bytes_mutation(kind, rng, seed, data)
    if kind.startswith("tfl_"):
        return kind, _tflite_mutation(kind, rng, data)
    if kind.startswith("onnx_"):
        return kind, _onnx_mutation(kind, rng, seed.path)
    return kind, _llm_mutation(kind, rng, data)


def mutant(index: int, base_seed: int, corpus: list[Seed]) -> tuple[Seed, str, bytes]:
    """The index-th mutant of a run: fully determined by (base_seed, index)."""
    rng = random.Random(base_seed * 1_000_003 + index)
    seed = corpus[index % len(corpus)]
    kind, data = mutate(rng, seed)
    return seed, kind, data


# --- exercising one mutant ------------------------------------------------------------------------


def exercise(path: Path, seed: Seed, rng: random.Random, codegen: bool = False) -> None:
    """What the CLI does with the file: raise TinycError, or return (any other exception is a bug)."""
    if seed.fmt in ("checkpoint", "tokenizer"):
        _exercise_llm(path, seed, rng)
        return
    from tinyc.frontends import load_model
    from tinyc.inspect import render_table, summarize
    from tinyc.lower import lower
    from tinyc.memory import plan_memory
    from tinyc.memory.patch import patched_plan
    from tinyc.runtime import run_plan

    graph = load_model(path)
    summary = summarize(graph)
    render_table(summary)
    json.dumps(summary)
    plan = plan_memory(lower(graph))
    patched_plan(graph)
    values = sum(graph.tensor(n).size for s in plan.steps for n in s.outputs)
    if values <= RUN_ELEMENTS and sum(s.macs for s in plan.steps) <= RUN_MACS:
        inputs = [_random_input(graph.tensor(n), rng) for n in graph.inputs]
        run_plan(plan, inputs)
    if codegen:
        from tinyc.pipeline import compile_library, model_name

        with tempfile.TemporaryDirectory(prefix="tinyc-fuzz-") as tmp:
            compile_library(plan, Path(tmp) / "lib", "host", model_name(plan))


def _random_input(t, rng: random.Random) -> np.ndarray:  # noqa: ANN001
    g = np.random.default_rng(rng.randrange(2**32))
    if t.np_dtype.kind == "f":
        return g.standard_normal((1, *t.shape)).astype(t.np_dtype)
    info = np.iinfo(t.np_dtype)
    return g.integers(max(info.min, -128), min(info.max, 127), (1, *t.shape), endpoint=True).astype(t.np_dtype)


def _exercise_llm(path: Path, seed: Seed, rng: random.Random) -> None:
    from tinyc.llm.cli import generate

    ckpt = path if seed.fmt == "checkpoint" else MODELS / LLM_CHECKPOINT
    tok = path if seed.fmt == "tokenizer" else MODELS / LLM_TOKENIZER
    kw = {"model": ckpt, "tokenizer_path": tok, "prompt": rng.choice(PROMPTS), "steps": 3,
          "temperature": rng.choice((0.0, 0.8)), "topp": 0.9, "seed": 1, "quant": rng.choice(("f32", "int8")),
          "group_size": 64, "target": "ref", "ids_out": None, "c_out": None, "report_path": None}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        generate.callback(**kw)


class Hang(BaseException):
    """The per-mutant time limit ran out (a BaseException, so that no `except Exception` swallows it)."""


def classify(fn: Callable[[], None]) -> tuple[str, str]:
    """(outcome, detail) of running fn as the CLI would: warnings silenced, TinycError a message."""
    from tinyc.cli import quiet
    from tinyc.errors import TinycError

    try:
        with quiet():
            fn()
    except TinycError as exc:
        message = str(exc)
        if not message or not message.isprintable():
            return "multi-line", f"{type(exc).__name__}: {message[:200]!r}"
        return "clean error", message
    except Hang:
        return "hang", ""
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        return "traceback", f"{type(exc).__name__} at {where}: {str(exc)[:160]!r}"
    return "ok", ""


def run_mutant(index: int, base_seed: int, corpus: list[Seed], workdir: Path,
               codegen_every: int = 20) -> tuple[Seed, str, str, str]:
    """Make and exercise the index-th mutant: (seed, kind, outcome, detail)."""
    seed, kind, data = mutant(index, base_seed, corpus)
    path = workdir / f"m{index}{seed.path.suffix}"
    path.write_bytes(data)
    rng = random.Random(index)
    try:
        outcome, detail = classify(lambda: exercise(path, seed, rng, codegen=index % codegen_every == 0))
    finally:
        path.unlink(missing_ok=True)
    return seed, kind, outcome, detail


# --- the long run: worker processes watched by the parent ------------------------------------------


def _worker(base_seed: int, start: int, stop: int, step: int, timeout: int) -> None:
    """Child process: one JSON line per mutant on stdout ("start" first, so a crash names the mutant)."""
    import resource
    import signal

    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))  # a runaway allocation fails, not the machine

    def alarm(signum: int, frame: object) -> None:
        raise Hang()

    signal.signal(signal.SIGALRM, alarm)
    corpus = seeds()
    out = sys.__stdout__
    with tempfile.TemporaryDirectory(prefix="tinyc-fuzz-") as tmp:
        for i in range(start, stop, step):
            out.write(json.dumps({"start": i}) + "\n")
            out.flush()
            signal.alarm(timeout)
            seed, kind, outcome, detail = run_mutant(i, base_seed, corpus, Path(tmp))
            signal.alarm(0)
            out.write(json.dumps({"i": i, "seed": seed.name, "kind": kind, "outcome": outcome,
                                  "detail": detail}) + "\n")
            out.flush()


@dataclass
class Result:
    index: int
    seed: str
    kind: str
    outcome: str
    detail: str


def run_parallel(n: int, base_seed: int, workers: int, timeout: int, progress: Callable[[Result], None],
                 deadline: float = float("inf")) -> list[Result]:
    """Mutants 0..n-1 over `workers` child processes; a child that dies or stalls is restarted after the
    mutant it was on (recorded as a signal or a hang). At `deadline` (time.monotonic()) the children are
    stopped and the mutants finished so far returned."""
    import selectors
    import subprocess
    import time

    corpus = seeds()
    results: list[Result] = []
    sel = selectors.DefaultSelector()
    procs: dict[int, dict] = {}

    def spawn(w: int, start: int) -> None:
        cmd = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(REPO)!r}); "
               f"from benchmarks.fuzz import _worker; _worker({base_seed}, {start}, {n}, {workers}, {timeout})"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        procs[w] = {"proc": p, "current": None, "last": time.monotonic(), "buf": ""}
        sel.register(p.stdout, selectors.EVENT_READ, w)

    def lost(w: int, outcome: str, detail: str) -> None:
        st = procs.pop(w)
        sel.unregister(st["proc"].stdout)
        if st["proc"].poll() is None:
            st["proc"].kill()
        st["proc"].wait()
        i = st["current"]
        if i is not None:
            seed, kind, _ = mutant(i, base_seed, corpus)
            r = Result(i, seed.name, kind, outcome, detail)
            results.append(r)
            progress(r)
            if i + workers < n:
                spawn(w, i + workers)

    for w in range(min(workers, n)):
        spawn(w, w)
    while procs:
        if time.monotonic() > deadline:
            for st in procs.values():
                st["proc"].kill()
                st["proc"].wait()
            break
        for key, _ in sel.select(timeout=5):
            w = key.data
            st = procs[w]
            line = st["proc"].stdout.readline()
            if not line:
                code = st["proc"].wait()
                if st["current"] is not None:
                    lost(w, "signal", f"worker exit {code}")
                else:
                    procs.pop(w)
                    sel.unregister(st["proc"].stdout)
                continue
            st["last"] = time.monotonic()
            msg = json.loads(line)
            if "start" in msg:
                st["current"] = msg["start"]
                continue
            st["current"] = None
            r = Result(msg["i"], msg["seed"], msg["kind"], msg["outcome"], msg["detail"])
            results.append(r)
            progress(r)
        for w in [w for w, st in procs.items() if time.monotonic() - st["last"] > 3 * timeout]:
            lost(w, "hang", "worker stalled")
    return sorted(results, key=lambda r: r.index)


def report(results: list[Result], seconds: float, workers: int, base_seed: int, planned: int) -> str:
    kinds = sorted({r.kind for r in results}, key=lambda k: (k not in BYTE_KINDS, k))
    table = Counter((r.kind, r.outcome) for r in results)
    lines = [
        "# Fuzzing tinyc with mutants of the reference models",
        "",
        f"`benchmarks/fuzz.py --mutants {planned:,} --workers {workers} --seed {base_seed}`"
        + (f" (stopped after {seconds / 60:.0f} min)" if len(results) < planned else "") + ": "
        f"{len(results):,} mutants of {len({r.seed for r in results})} files of ../shared/models "
        f"(.tflite, .onnx, the llama2.c checkpoint and tokenizer), {seconds / 60:.1f} min on {workers} workers "
        f"({len(results) / max(seconds, 1e-9):.1f} mutants/s). Each mutant goes through what the CLI does: "
        "tflite/onnx: load + verify, `inspect`'s summary, lowering, memory planning (and in row bands, `--patch`), "
        "a reference run on one random "
        f"input (skipped when the accepted graph has over {RUN_ELEMENTS:,} activation values or "
        f"{RUN_MACS:,} MACs), and code generation for every 20th; llama2.c files: `tinyc generate` for 3 "
        "steps. Mutation kinds are described in the script's docstring.",
        "",
        "| kind | " + " | ".join(OUTCOMES) + " | total |",
        "|---|" + "---:|" * (len(OUTCOMES) + 1),
    ]
    for k in kinds:
        row = [table[(k, o)] for o in OUTCOMES]
        lines.append(f"| {k} | " + " | ".join(f"{v:,}" for v in row) + f" | {sum(row):,} |")
    totals = Counter(r.outcome for r in results)
    lines.append("| **all** | " + " | ".join(f"**{totals[o]:,}**" for o in OUTCOMES) + f" | **{len(results):,}** |")
    by_seed = Counter((r.seed, r.outcome) for r in results)
    lines += ["", "Per seed file:", "", "| file | " + " | ".join(OUTCOMES) + " |", "|---|" + "---:|" * len(OUTCOMES)]
    for s in sorted({r.seed for r in results}):
        lines.append(f"| {s} | " + " | ".join(f"{by_seed[(s, o)]:,}" for o in OUTCOMES) + " |")
    bad = [r for r in results if r.outcome not in ("ok", "clean error")]
    if bad:
        lines += ["", "Failures (first 50 distinct):", ""]
        seen: set[str] = set()
        for r in bad:
            if r.detail not in seen and len(seen) < 50:
                seen.add(r.detail)
                lines.append(f"- mutant {r.index} ({r.seed}, {r.kind}): {r.outcome}: `{r.detail}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutants", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=60, help="seconds per mutant before it counts as a hang")
    ap.add_argument("--max-minutes", type=float, default=float("inf"),
                    help="stop after this long and report the mutants finished so far")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "fuzz.md")
    args = ap.parse_args(argv)
    if not MODELS.is_dir():
        print(f"{MODELS} not found: the reference models are needed", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    with tqdm(total=args.mutants, unit="mutant", smoothing=0.05) as bar:
        counts: Counter = Counter()

        def progress(r: Result) -> None:
            counts[r.outcome] += 1
            bar.update()
            if bar.n % 200 == 0:
                bar.set_postfix({k: v for k, v in counts.items() if k not in ("ok", "clean error")} or {"bad": 0})
            if r.outcome not in ("ok", "clean error"):
                tqdm.write(f"{r.index} {r.seed} {r.kind}: {r.outcome}: {r.detail}")

        results = run_parallel(args.mutants, args.seed, args.workers, args.timeout, progress,
                               t0 + 60 * args.max_minutes)
    text = report(results, time.monotonic() - t0, args.workers, args.seed, args.mutants)
    args.out.write_text(text)
    print(text)
    return 0 if all(r.outcome in ("ok", "clean error") for r in results) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
