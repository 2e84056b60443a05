"""IR -> .tflite writer: reading the written file gives back the same graph, and TFLM runs it byte-equal."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import MLPERF_INT8
from tests.graphs import assert_same_graph, every_op_graph
from tests.helpers import tflm_outputs
from tinyc.errors import TinycError
from tinyc.export import tflite_bytes, write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Tensor
from tinyc.lower import lower
from tinyc.quant import ptq, quantize_input
from tinyc.runtime import run_plan

tflm_runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

MLPERF_FLOAT = {"kws": "mlperf_tiny/kws/kws_ref_model_float32.tflite",
                "ic": "mlperf_tiny/ic/pretrainedResnet.tflite", "ad": "mlperf_tiny/ad/ad01_fp32.tflite"}
N_RANDOM = 200


def round_trip(graph: Graph, path) -> Graph:
    write_tflite(graph, path)
    back = load_model(path)
    back.name = graph.name  # the reader names the graph after the file
    return back


@pytest.mark.parametrize("key", sorted(MLPERF_INT8))
def test_mlperf_int8_round_trip_and_tflm(key: str, models_dir, tmp_path) -> None:
    graph = load_model(models_dir / MLPERF_INT8[key])
    out = tmp_path / f"{key}.tflite"
    assert_same_graph(graph, round_trip(graph, out))
    x = np.random.default_rng(5).integers(-128, 128, size=(N_RANDOM, *graph.tensor(graph.inputs[0]).shape),
                                          dtype=np.int8)
    ours = run_plan(lower(graph), [x])[graph.outputs[0]]
    theirs = tflm_outputs(out, x)
    assert ours.dtype == theirs.dtype == np.int8
    assert ours.tobytes() == theirs.tobytes()


@pytest.mark.parametrize("key", sorted(MLPERF_FLOAT))
def test_mlperf_float_round_trip(key: str, models_dir, tmp_path) -> None:
    """Float (and KWS's hybrid: int8 weights, float activations) models; TFLite runs the written file
    (TFLM refuses hybrid models) and agrees with tinyc as on the original (tests/test_float_models.py)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    graph = load_model(models_dir / MLPERF_FLOAT[key])
    out = tmp_path / f"{key}.tflite"
    assert_same_graph(graph, round_trip(graph, out))
    shape = graph.tensor(graph.inputs[0]).shape
    x = np.random.default_rng(6).normal(0, 1, size=(8, *shape)).astype(np.float32)
    interp = Interpreter(model_path=str(out), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    theirs = []
    for sample in x:
        interp.set_tensor(interp.get_input_details()[0]["index"], sample)
        interp.invoke()
        theirs.append(interp.get_tensor(interp.get_output_details()[0]["index"]).copy())
    ref = np.stack(theirs)
    np.testing.assert_allclose(run_plan(lower(graph), [x])[graph.outputs[0]], ref, rtol=1e-5,
                               atol=1e-5 * float(np.abs(ref).max()))


def test_every_op_float_and_int8(tmp_path) -> None:
    """Every mapped op (SAME/VALID pads, depth multiplier, RELU/RELU6, TRANSPOSE, RESHAPE, activation ADD,
    MAX/AVERAGE pool): round trip, and TFLM equals tinyc on each intermediate tensor of the int8 model."""
    import tflite

    fgraph = every_op_graph()
    x = np.random.default_rng(1).normal(0, 1, (64, 1, 8, 8, 3)).astype(np.float32)
    qgraph = ptq(fgraph, x)
    for graph, name in ((fgraph, "f"), (qgraph, "q")):
        assert_same_graph(graph, round_trip(graph, tmp_path / f"{name}.tflite"))
    path = tmp_path / "q.tflite"
    sub = tflite.Model.GetRootAsModel(path.read_bytes(), 0).Subgraphs(0)
    index = {sub.Tensors(i).Name().decode(): i for i in range(sub.TensorsLength())}
    interp = tflm_runtime.Interpreter.from_file(
        str(path), intrepreter_config=tflm_runtime.InterpreterConfig.kPreserveAllTensors)
    xq = quantize_input(qgraph, x)
    ours = run_plan(lower(qgraph), [xq], keep_all=True)
    for k in range(len(xq)):
        interp.set_input(xq[k], 0)
        interp.invoke()
        for node in qgraph.nodes:
            theirs = interp.GetTensor(index[node.outputs[0]], 0)["tensor_data"]
            assert ours[node.outputs[0]][k].tobytes() == theirs.tobytes(), f"{node.name} differs from TFLM"


def test_relu_n1_to_1_round_trip(tmp_path) -> None:
    """TFLM has no RELU_N1_TO_1 kernel; the writer still expresses it and the reader reads it back."""
    graph = every_op_graph(last_relu="relu_n1_to_1")
    assert_same_graph(graph, round_trip(graph, tmp_path / "n1.tflite"))


def test_file_header(tmp_path) -> None:
    import tflite

    data = tflite_bytes(every_op_graph())
    assert data[4:8] == b"TFL3"
    model = tflite.Model.GetRootAsModel(data, 0)
    assert model.Version() == 3 and model.SubgraphsLength() == 1
    assert model.Buffers(0).DataLength() == 0  # the empty sentinel buffer


def _padded_conv(pads: tuple[int, int, int, int], out_hw: tuple[int, int]) -> Graph:
    g = Graph("padded")
    g.add_tensor(Tensor("x", (1, 6, 6, 1), "float32"))
    g.add_tensor(Tensor("w", (1, 3, 3, 1), "float32", data=np.ones((1, 3, 3, 1), np.float32)))
    g.add_tensor(Tensor("y", (1, *out_hw, 1), "float32"))
    attrs = {"stride": (1, 1), "dilation": (1, 1), "pads": pads, "activation": "none"}
    g.nodes.append(Node("conv2d", "conv", ["x", "w"], ["y"], attrs))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_padding_tflite_cannot_express_is_a_clear_error() -> None:
    tflite_bytes(_padded_conv((1, 1, 1, 1), (6, 6)))  # SAME
    tflite_bytes(_padded_conv((0, 0, 0, 0), (4, 4)))  # VALID
    with pytest.raises(TinycError, match=r"node 'conv' \(conv2d\): padding \[2, 2, 2, 2\].*neither VALID"):
        tflite_bytes(_padded_conv((2, 2, 2, 2), (8, 8)))
    with pytest.raises(TinycError, match="neither VALID nor TFLite's SAME"):
        tflite_bytes(_padded_conv((0, 0, 2, 2), (6, 6)))  # the right amount, on the wrong side


def test_unsupported_relu_activation_is_a_clear_error() -> None:
    g = every_op_graph()
    next(n for n in g.nodes if n.op == "relu").attrs["activation"] = "none"
    with pytest.raises(TinycError, match="relu.*activation 'none' has no TFLite builtin"):
        tflite_bytes(g)
