"""Real ONNX exports (tests/onnx_exports.py: a torch MobileNetV2, a torch LSTM keyword spotter, a Keras CNN
through tf2onnx) and torch LSTM / GRU layers, against onnxruntime.

Tolerance as in tests/test_onnx.py: rtol 1e-5 and atol 1e-5 * max|onnxruntime| per model (tinyc's kernels sum
in another order than onnxruntime, folded batch norms round differently, and tinyc's expf / tanhf are its own).
The generated host C must give the reference runtime's bytes, and the emulated Cortex-M4F (nucleo-l4r5zi) the
host's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from tests import onnx_exports
from tinyc.errors import ModelError, UnsupportedOpError
from tinyc.frontends.onnx import load_onnx
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.pipeline import run_model
from tinyc.runtime import run_plan

RTOL = 1e-5
N_INPUTS = {"mobilenet_v2": 50, "lstm_kws": 200, "keras_cnn": 200}
N_BOARD = 3  # inputs on the emulated board (MobileNetV2 takes ~70M instructions each)
BOARD = "nucleo-l4r5zi"
BUILDERS = {"mobilenet_v2": onnx_exports.build_mobilenet_v2, "lstm_kws": onnx_exports.build_lstm_kws,
            "keras_cnn": onnx_exports.build_keras_model}


def ort_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.stack([sess.run(None, {name: sample})[0] for sample in x])


def assert_close(got: np.ndarray, ref: np.ndarray) -> None:
    np.testing.assert_allclose(got.reshape(ref.shape), ref, rtol=RTOL, atol=RTOL * float(np.abs(ref).max()))


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def export(request, tmp_path_factory):  # noqa: ANN001, ANN201
    """(name, export, plan, inputs, onnxruntime's outputs, the reference runtime's outputs), once per model."""
    name = request.param
    if name == "keras_cnn" and not onnx_exports.keras_available():
        pytest.skip("tensorflow / keras / tf2onnx not installed (the dev extra)")
    e = BUILDERS[name](tmp_path_factory.mktemp(name) / f"{name}.onnx")
    graph = load_onnx(e.path)
    plan = plan_memory(lower(graph))
    x = e.inputs(N_INPUTS[name])
    want = run_plan(plan, [x])[graph.outputs[0]]
    return name, e, plan, x, ort_outputs(e.path, x), want


def test_reference_equals_onnxruntime(export) -> None:  # noqa: ANN001
    _, _, _, _, ref, got = export
    assert_close(got, ref)


def test_host_c_equals_reference(export) -> None:  # noqa: ANN001
    _, _, plan, x, ref, want = export
    got, _ = run_model(plan, [x], "host")
    assert got[0].tobytes() == want.tobytes()
    assert_close(got[0], ref)


def test_emulated_m4f_equals_host(export) -> None:  # noqa: ANN001
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm not installed")
    name, e, plan, x, _, _ = export
    host, _ = run_model(plan, [x[:N_BOARD]], "host")
    board, report = run_model(plan, [x[:N_BOARD]], BOARD)
    assert board[0].tobytes() == host[0].tobytes()
    assert report["flash"]["total"] < 2048 * 1024
    if name == "lstm_kws":  # the recurrent weights, read by each of the 98 unrolled steps, are in flash once
        import onnx
        from onnx import numpy_helper

        params = sum(numpy_helper.to_array(t).nbytes for t in onnx.load(str(e.path)).graph.initializer)
        assert report["flash"]["weights"] <= params


# --- torch's LSTM and GRU in more shapes ----------------------------------------------------------------------

RECURRENT = [(kind, batch_first, layers, bidirectional) for kind in ("LSTM", "GRU") for batch_first in (False, True)
             for layers, bidirectional in ((1, False), (2, False), (1, True))]


@pytest.mark.parametrize("kind,batch_first,layers,bidirectional", RECURRENT,
                         ids=[f"{k}-{'bf' if b else 'tm'}-{n}{'-bi' if d else ''}" for k, b, n, d in RECURRENT])
def test_torch_recurrent_layer(tmp_path: Path, kind: str, batch_first: bool, layers: int,
                               bidirectional: bool) -> None:
    """torch exports LSTM and GRU (linear_before_reset=1) with layout 0 (transposes around batch_first) and
    zero initial states built from Shape / Expand (folded); 50 inputs each, all outputs (Y) compared."""
    import torch

    torch.manual_seed(1)
    layer = getattr(torch.nn, kind)(6, 8, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(x)[0]

    shape = (1, 5, 6) if batch_first else (5, 1, 6)
    path = tmp_path / "rnn.onnx"
    with torch.no_grad():
        onnx_exports._torch_export(Model(), shape, path)
    x = np.random.default_rng(2).normal(0, 1.5, (50,) + shape).astype(np.float32)
    graph = load_onnx(path)
    assert_close(run_plan(lower(graph), [x])[graph.outputs[0]], ort_outputs(path, x))


def _lstm_model(tmp_path: Path, attrs: dict, initial_h_input: bool = False) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, s).astype(np.float32), n)
             for n, s in (("W", (1, 16, 3)), ("R", (1, 16, 4)))]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 1, 3])]
    if initial_h_input:
        inputs.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, 1, 4]))
    node = helper.make_node("LSTM", ["x", "W", "R", "", "", "h0" if initial_h_input else ""], ["y"], "lstm",
                            hidden_size=4, **attrs)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 1, 1, 4])
    graph = helper.make_graph([node], "g", inputs, [y], inits)
    path = tmp_path / "lstm.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), str(path))
    return path


@pytest.mark.parametrize("attrs,initial_h_input,needle", [
    ({"clip": 1.0}, False, "clip"),
    ({"input_forget": 1}, False, "input_forget=1"),
    ({"activations": ["HardSigmoid", "Tanh", "Tanh"]}, False, "activation HardSigmoid"),
    ({}, True, "initial_h"),
    ({"direction": "sideways"}, False, "direction 'sideways'"),
], ids=["clip", "input_forget", "activation", "initial_h_input", "direction"])
def test_lstm_refusals_name_the_node(tmp_path: Path, attrs: dict, initial_h_input: bool, needle: str) -> None:
    with pytest.raises(ModelError if "direction" in attrs else UnsupportedOpError) as info:
        load_onnx(_lstm_model(tmp_path, attrs, initial_h_input))
    message = str(info.value)
    assert "LSTM" in message and "'lstm'" in message and needle in message and "\n" not in message


def test_lstm_explicit_activations(tmp_path: Path) -> None:
    """Activations given as the attribute (strings, read as bytes): Relu as the cell and hidden function."""
    path = _lstm_model(tmp_path, {"activations": ["Sigmoid", "Relu", "Relu"]})
    x = np.random.default_rng(3).normal(0, 1.5, (50, 2, 1, 3)).astype(np.float32)
    graph = load_onnx(path)
    assert_close(run_plan(lower(graph), [x])[graph.outputs[0]], ort_outputs(path, x))
