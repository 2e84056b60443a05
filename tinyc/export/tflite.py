"""IR graph -> TFLite flatbuffer (schema version 3, file identifier "TFL3"), through the `tflite` bindings.

The file is what the TFLite converter would write for the same graph: one subgraph, buffer 0 empty,
one buffer per constant, activations without buffers, int8 quantization (per channel along
`quantized_dimension` where the IR has an axis). `tinyc.frontends.load_model` reads it back into an
equal graph and TFLM runs it.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
import tflite

from tinyc.atomic import write_bytes
from tinyc.errors import TinycError
from tinyc.export.tflite_ops import OpSpec, op_spec
from tinyc.ir import Graph, Quant, Tensor

SCHEMA_VERSION = 3
BUFFER_ALIGNMENT = 16  # as the converter aligns constant data, so kernels may read it in place
TENSOR_TYPES = {"float32": tflite.TensorType.FLOAT32, "int8": tflite.TensorType.INT8,
                "int32": tflite.TensorType.INT32, "uint8": tflite.TensorType.UINT8,
                "int16": tflite.TensorType.INT16, "int64": tflite.TensorType.INT64,
                "uint32": tflite.TensorType.UINT32, "uint64": tflite.TensorType.UINT64,
                "bool": tflite.TensorType.BOOL}


def write_tflite(graph: Graph, path: str | Path) -> None:
    write_bytes(path, tflite_bytes(graph))


def tflite_bytes(graph: Graph) -> bytes:
    graph.verify()
    specs = [op_spec(node, graph) for node in graph.nodes]
    tensors = list(graph.tensors.values()) + [t for s in specs for t in s.leading_inputs + s.extra_inputs]
    tensors += [t for s in specs for t in s.variables.values()]
    index = {t.name: i for i, t in enumerate(tensors)}
    return _Writer(graph, tensors, index, specs).finish()


class _Writer:
    def __init__(self, graph: Graph, tensors: list[Tensor], index: dict[str, int], specs: list[OpSpec]):
        self.g, self.tensors, self.index, self.specs = graph, tensors, index, specs
        self.variables = {t.name for s in specs for t in s.variables.values()}
        self.b = flatbuffers.Builder(1024 + sum(t.nbytes for t in tensors if t.is_const) * 2)

    def finish(self) -> bytes:
        b = self.b
        buffers, buffer_of = self._buffers()
        codes, code_index = self._operator_codes()
        subgraph = self._subgraph(buffer_of, code_index)
        description = b.CreateString("tinyc")
        buffers_vec = self._vector(tflite.ModelStartBuffersVector, buffers)
        codes_vec = self._vector(tflite.ModelStartOperatorCodesVector, codes)
        subgraphs_vec = self._vector(tflite.ModelStartSubgraphsVector, [subgraph])
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, SCHEMA_VERSION)
        tflite.ModelAddOperatorCodes(b, codes_vec)
        tflite.ModelAddSubgraphs(b, subgraphs_vec)
        tflite.ModelAddDescription(b, description)
        tflite.ModelAddBuffers(b, buffers_vec)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    def _vector(self, start, offsets: list[int]) -> int:  # noqa: ANN001
        start(self.b, len(offsets))
        for off in reversed(offsets):
            self.b.PrependUOffsetTRelative(off)
        return self.b.EndVector()

    def _ints(self, values: list[int]) -> int:
        return self.b.CreateNumpyVector(np.array(values, np.int32))

    def _bytes_aligned(self, data: bytes) -> int:
        b = self.b
        b.StartVector(1, len(data), BUFFER_ALIGNMENT)
        b.head -= len(data)
        b.Bytes[b.head:b.head + len(data)] = data
        b.vectorNumElems = len(data)
        return b.EndVector()

    def _buffers(self) -> tuple[list[int], dict[str, int]]:
        """Buffer 0 is the empty sentinel; each constant gets its own buffer."""
        b = self.b
        consts = [t for t in self.tensors if t.is_const]
        data_offsets = [self._bytes_aligned(np.ascontiguousarray(t.data).astype(t.np_dtype.newbyteorder("<"))
                                            .tobytes()) for t in consts]
        offsets = []
        for data in [None] + data_offsets:
            tflite.BufferStart(b)
            if data is not None:
                tflite.BufferAddData(b, data)
            offsets.append(tflite.BufferEnd(b))
        return offsets, {t.name: i + 1 for i, t in enumerate(consts)}

    def _operator_codes(self) -> tuple[list[int], list[int]]:
        keys: list[tuple[int, int, str]] = []
        code_index = []
        for node, spec in zip(self.g.nodes, self.specs, strict=True):
            key = (spec.builtin, spec.version(self.g.tensor(node.inputs[0]).dtype == "int8"), spec.custom_code)
            if key not in keys:
                keys.append(key)
            code_index.append(keys.index(key))
        b = self.b
        offsets = []
        for builtin, version, custom in keys:
            custom_code = b.CreateString(custom) if custom else None
            tflite.OperatorCodeStart(b)
            # codes past 127 keep 127 (PLACEHOLDER_FOR_GREATER_OP_CODES) in the old int8 field
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(builtin, 127))
            tflite.OperatorCodeAddBuiltinCode(b, builtin)
            tflite.OperatorCodeAddVersion(b, version)
            if custom_code is not None:
                tflite.OperatorCodeAddCustomCode(b, custom_code)
            offsets.append(tflite.OperatorCodeEnd(b))
        return offsets, code_index

    def _quantization(self, q: Quant) -> int:
        b = self.b
        scale = b.CreateNumpyVector(q.scale.astype(np.float32))
        zero_point = b.CreateNumpyVector(q.zero_point.astype(np.int64))
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, scale)
        tflite.QuantizationParametersAddZeroPoint(b, zero_point)
        tflite.QuantizationParametersAddQuantizedDimension(b, q.axis or 0)
        return tflite.QuantizationParametersEnd(b)

    def _tensor(self, t: Tensor, buffer: int) -> int:
        if t.dtype not in TENSOR_TYPES:
            raise TinycError(f"tensor '{t.name}': dtype {t.dtype} has no TFLite type")
        b = self.b
        name = b.CreateString(t.name)
        shape = self._ints(list(t.shape))
        quant = self._quantization(t.quant) if t.quant is not None else None
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, TENSOR_TYPES[t.dtype])
        tflite.TensorAddBuffer(b, buffer)
        tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        if t.name in self.variables:
            tflite.TensorAddIsVariable(b, True)
        return tflite.TensorEnd(b)

    def _operator(self, opcode: int, inputs: list[int], outputs: list[int], spec: OpSpec) -> int:
        b = self.b
        options = spec.options(b) if spec.options is not None else None
        custom = b.CreateNumpyVector(np.frombuffer(spec.custom_options, np.uint8)) if spec.custom_options else None
        ins, outs = self._ints(inputs), self._ints(outputs)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, opcode)
        tflite.OperatorAddInputs(b, ins)
        tflite.OperatorAddOutputs(b, outs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(b, spec.options_type)
            tflite.OperatorAddBuiltinOptions(b, options)
        if custom is not None:
            tflite.OperatorAddCustomOptions(b, custom)
            tflite.OperatorAddCustomOptionsFormat(b, tflite.CustomOptionsFormat.FLEXBUFFERS)
        return tflite.OperatorEnd(b)

    def _subgraph(self, buffer_of: dict[str, int], code_index: list[int]) -> int:
        tensors = [self._tensor(t, buffer_of.get(t.name, 0)) for t in self.tensors]
        ops = []
        for node, spec, code in zip(self.g.nodes, self.specs, code_index, strict=True):
            inputs = [self.index[t.name] for t in spec.leading_inputs]
            inputs += [self.index[n] if n else -1 for n in node.inputs]
            inputs += [self.index[t.name] for t in spec.extra_inputs]
            for slot, t in spec.variables.items():
                inputs[slot] = self.index[t.name]
            if spec.order is not None:
                inputs = [inputs[k] for k in spec.order]
            ops.append(self._operator(code, inputs, [self.index[n] for n in node.outputs], spec))
        b = self.b
        tensors_vec = self._vector(tflite.SubGraphStartTensorsVector, tensors)
        ops_vec = self._vector(tflite.SubGraphStartOperatorsVector, ops)
        ins = self._ints([self.index[n] for n in self.g.inputs])
        outs = self._ints([self.index[n] for n in self.g.outputs])
        name = b.CreateString(self.g.name or "main")
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensors_vec)
        tflite.SubGraphAddInputs(b, ins)
        tflite.SubGraphAddOutputs(b, outs)
        tflite.SubGraphAddOperators(b, ops_vec)
        tflite.SubGraphAddName(b, name)
        return tflite.SubGraphEnd(b)
