"""The PyTorch frontend: modules (2-D and 1-D convolutions, batch norms, pools, linear layers) give graphs
that compute what PyTorch computes; state_dicts load weights-only; `.pt2` programs and torch-exported
`.onnx` files go through `tinyc compile / quantize / prune`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from tinyc.cli import main  # noqa: E402
from tinyc.errors import ModelError  # noqa: E402
from tinyc.frontends import load_model  # noqa: E402
from tinyc.frontends.torch import load_state_dict, load_torch, load_torch_file, onnx_bytes  # noqa: E402
from tinyc.lower import lower  # noqa: E402
from tinyc.runtime import run_plan  # noqa: E402

torch.set_num_threads(2)


def invoke(*args: object):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stderr.strip(), result.stdout


class Net2d(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.dw = torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.fc = torch.nn.Linear(8 * 4 * 4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(x)))
        x = torch.nn.functional.relu6(self.dw(x))
        return torch.softmax(self.fc(torch.flatten(x, 1)), dim=1)


def net1d() -> torch.nn.Module:
    nn = torch.nn
    return nn.Sequential(nn.Conv1d(6, 8, 5, padding=2), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(2),
                         nn.Conv1d(8, 4, 3), nn.ReLU(), nn.AvgPool1d(2), nn.Flatten(), nn.Linear(4 * 11, 3))


def randomize_bn(model: torch.nn.Module) -> torch.nn.Module:
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


def assert_same_outputs(model: torch.nn.Module, graph, x: np.ndarray) -> None:
    ours = run_plan(lower(graph), [x[:, None]])[graph.outputs[0]]
    with torch.no_grad():
        theirs = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours.reshape(theirs.shape), theirs, rtol=1e-5, atol=1e-5)


def test_module_2d_equals_torch() -> None:
    torch.manual_seed(0)
    model = randomize_bn(Net2d())
    x = np.random.default_rng(0).normal(0, 1, (20, 3, 8, 8)).astype(np.float32)
    graph = load_torch(model, x[:1])
    assert graph.name == "Net2d" and graph.tensor(graph.inputs[0]).shape == (1, 3, 8, 8)
    assert [n.op for n in graph.nodes if n.op not in ("reshape", "transpose")] == \
        ["conv2d", "depthwise_conv2d", "fully_connected", "softmax"]  # batch norm folded, activations fused
    assert_same_outputs(model, graph, x)
    model.train()
    load_torch(model, x[:1])
    assert model.training  # the caller's mode is restored


def test_module_1d_runs_as_height_one_2d() -> None:
    torch.manual_seed(1)
    model = randomize_bn(net1d())
    x = np.random.default_rng(1).normal(0, 1, (20, 6, 50)).astype(np.float32)
    graph = load_torch(model, torch.from_numpy(x[:1]))
    convs = [n for n in graph.nodes if n.op == "conv2d"]
    assert len(convs) == 2 and all(graph.tensor(n.inputs[1]).shape[1] == 1 for n in convs)  # 1 x K kernels
    assert graph.tensor(convs[0].outputs[0]).shape == (1, 1, 50, 8)
    assert_same_outputs(model, graph, x)


def test_state_dict_weights_only(tmp_path) -> None:
    torch.manual_seed(2)
    trained = randomize_bn(net1d())
    path = tmp_path / "net.pt"
    torch.save(trained.state_dict(), path)
    x = np.random.default_rng(2).normal(0, 1, (4, 6, 50)).astype(np.float32)
    fresh = load_state_dict(net1d(), path).eval()
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), trained.state_dict().values(),
                                                 strict=True))
    graph = load_torch_file(path, module=net1d(), example_input=x[:1])
    assert graph.source == str(path)
    assert_same_outputs(trained, graph, x)
    torch.save({"state_dict": trained.state_dict(), "epoch": 3}, tmp_path / "ckpt.pth")
    load_state_dict(net1d(), tmp_path / "ckpt.pth")


class Payload:
    def __reduce__(self):  # noqa: ANN204
        return (print, ("unpickled!",))


def test_files_are_never_unpickled(tmp_path) -> None:
    evil = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(2), "x": Payload()}, evil)
    with pytest.raises(ModelError, match="weights-only"):
        load_state_dict(net1d(), evil)
    with pytest.raises(ModelError, match="does not fit"):
        torch.save({"other.weight": torch.zeros(2)}, tmp_path / "other.pt")
        load_state_dict(net1d(), tmp_path / "other.pt")
    code, err, _ = invoke("compile", tmp_path / "other.pt", "-o", tmp_path / "out")
    assert code == 2 and "holds no network structure" in err and len(err.splitlines()) == 1
    (tmp_path / "bad.pt2").write_bytes(b"PK\x03\x04 not a program")
    code, err, _ = invoke("compile", tmp_path / "bad.pt2", "-o", tmp_path / "out")
    assert code == 2 and "not a torch.export program" in err and len(err.splitlines()) == 1


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A trained-looking 1-D model saved as .pt2 (torch.export) and .onnx (torch.onnx.export)."""
    torch.manual_seed(3)
    model = randomize_bn(net1d())
    x = np.random.default_rng(3).normal(0, 1, (32, 6, 50)).astype(np.float32)
    folder = tmp_path_factory.mktemp("exported")
    program = torch.export.export(model, (torch.from_numpy(x[:1]),))
    torch.export.save(program, folder / "motion.pt2")
    (folder / "motion.onnx").write_bytes(onnx_bytes(model, x[:1]))
    np.save(folder / "calib.npy", x[:, None])
    return model, x, folder


def test_pt2_program_equals_torch(exported) -> None:
    model, x, folder = exported
    graph = load_model(folder / "motion.pt2")
    assert graph.name == "motion" and graph.source == str(folder / "motion.pt2")
    assert_same_outputs(model, graph, x)
    assert_same_outputs(model, load_model(folder / "motion.onnx"), x)


@pytest.mark.parametrize("suffix", [".pt2", ".onnx"])
def test_cli_quantize_prune_compile(exported, suffix: str, tmp_path) -> None:
    _, _, folder = exported
    model = folder / f"motion{suffix}"
    code, err, out = invoke("quantize", model, "--calib", folder / "calib.npy", "-o", tmp_path / "q.tflite")
    assert code == 0, err
    code, err, out = invoke("prune", model, "--method", "channel", "--sparsity", "0.5", "--data",
                            folder / "calib.npy", "-o", tmp_path / "p.tflite", "--report",
                            tmp_path / "r.json")
    assert code == 0, err
    assert "weights in the generated C" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["weight_bytes"]["after"] < doc["weight_bytes"]["before"]
    pruned = load_model(tmp_path / "p.tflite")
    convs = [n for n in pruned.nodes if n.op == "conv2d"]
    assert [pruned.tensor(n.inputs[1]).shape[0] for n in convs] == [4, 2]  # half of the channels removed
    code, err, out = invoke("compile", model, "-o", tmp_path / "lib")
    assert code == 0, err
    assert (tmp_path / "lib" / "report.json").is_file()
