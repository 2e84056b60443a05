"""Pruning that saves flash in the generated C: channels removed from the graph (exactly: same outputs),
and sparse int8 weights stored in compact encodings whose C kernels equal the reference byte for byte."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tinyc.codegen import generate
from tinyc.frontends import load_model
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.ops import sparse_weights
from tinyc.pipeline import run_on_target
from tinyc.prune import channel_groups, prune, remove_channels
from tinyc.prune.masks import n_of_m, unstructured
from tinyc.quant import ptq, quantize_input
from tinyc.runtime import run_plan
from tinyc.targets import run_host

torch = pytest.importorskip("torch")

from tinyc.frontends.torch import load_torch  # noqa: E402
from tinyc.prune import prune_torch  # noqa: E402
from tinyc.prune.torch_prune import torch_sparsity  # noqa: E402

torch.set_num_threads(2)
HALVED = [(8, 3, 3, 1), (1, 3, 3, 8), (16, 3, 3, 8), (12, 1, 1, 16), (32, 192), (10, 32)]  # 50% channels
STRICT = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off")


class Net(torch.nn.Module):
    """conv -> bn -> depthwise -> bn -> conv -> pool -> 1x1 conv -> flatten -> fc -> fc."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.c1, self.b1 = nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.dw, self.b2 = nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.BatchNorm2d(16)
        self.c2, self.c3 = nn.Conv2d(16, 32, 3, padding=1), nn.Conv2d(32, 24, 1)
        self.fc1, self.fc2 = nn.Linear(24 * 4 * 4, 64), nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.b1(self.c1(x)))
        x = torch.relu(self.b2(self.dw(x)))
        x = torch.nn.functional.max_pool2d(torch.relu(self.c2(x)), 2)
        x = torch.flatten(torch.relu(self.c3(x)), 1)
        return self.fc2(torch.relu(self.fc1(x)))


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = Net()
    for b in (model.b1, model.b2):
        b.running_mean.uniform_(-1, 1)
        b.running_var.uniform_(0.5, 2)
        b.weight.data.uniform_(0.5, 1.5)
        b.bias.data.uniform_(-0.5, 0.5)
    model.eval()
    x = np.random.default_rng(0).normal(0, 1, (64, 1, 1, 8, 8)).astype(np.float32)
    return model, x


def weights(graph) -> list[tuple[int, ...]]:
    return [graph.tensor(n.inputs[1]).shape for n in graph.nodes
            if n.op in ("conv2d", "depthwise_conv2d", "fully_connected")]


def test_channel_groups(net) -> None:
    model, x = net
    graph = load_torch(model, x[0])
    groups = {g.source.name: g for g in channel_groups(graph)}
    assert list(groups) == ["/c1/Conv", "/c2/Conv", "/c3/Conv", "/fc1/Gemm"]  # not the classifier
    assert [m.op for m in groups["/c1/Conv"].members] == ["depthwise_conv2d"]
    assert [n.name for n in groups["/c3/Conv"].sinks] == ["/fc1/Gemm"]  # through the flatten


def test_remove_channels_is_exact_float_and_int8(net) -> None:
    model, x = net
    graph = load_torch(model, x[0])
    zeroed = prune(graph, 0.5, "channel")
    removed = remove_channels(zeroed)
    assert weights(removed) == HALVED
    a = run_plan(lower(zeroed), [x])[graph.outputs[0]]
    b = run_plan(lower(removed), [x])[graph.outputs[0]]
    assert np.array_equal(a, b)
    # int8: prune the quantized graph, remove, and the bytes are those of the zeroed one
    q = prune(ptq(graph, x[:32]), 0.5, "channel")
    qr = remove_channels(q)
    xq = quantize_input(q, x)
    assert weights(qr) == weights(removed)
    out = q.outputs[0]
    assert run_plan(lower(q), [xq])[out].tobytes() == run_plan(lower(qr), [xq])[out].tobytes()
    # nothing zero, nothing removed; a bias that is not zero keeps its channel
    assert weights(remove_channels(graph)) == weights(graph)


def test_remove_channels_on_mlperf_kws(models_dir) -> None:
    graph = load_model(models_dir / "mlperf_tiny/kws/kws_ref_model_float32.tflite")
    zeroed = prune(graph, 0.5, "channel")
    removed = remove_channels(zeroed)
    before = sum(int(np.prod(s)) for s in weights(graph))
    assert sum(int(np.prod(s)) for s in weights(removed)) < 0.4 * before
    x = np.random.default_rng(1).normal(0, 1, (8,) + graph.tensor(graph.inputs[0]).shape).astype(np.float32)
    a = run_plan(lower(zeroed), [x])[graph.outputs[0]]
    b = run_plan(lower(removed), [x])[graph.outputs[0]]
    np.testing.assert_allclose(a, b, atol=1e-6)


# --- sparse encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [5, 9, 18, 64, 300, 1000])
def test_encodings_round_trip(k: int) -> None:
    rng = np.random.default_rng(k)
    w = rng.integers(-127, 128, (6, k)).astype(np.int8)
    mag = np.abs(w) + rng.random(w.shape)
    for keep in (unstructured(mag, 0.5), unstructured(mag, 0.97), n_of_m(mag, 2, 4), n_of_m(mag, 3, 8),
                 n_of_m(mag, 1, 16), np.zeros(w.shape, bool)):
        rows = np.where(keep, w, 0).astype(np.int8)
        for enc in sparse_weights.candidates(rows) + [sparse_weights.encode_mask(rows),
                                                      sparse_weights.encode_runs(rows)]:
            assert np.array_equal(sparse_weights.decode(enc.params, enc.consts, rows.shape), rows), enc.format


def test_encoding_choice_and_sizes() -> None:
    rng = np.random.default_rng(0)
    w = rng.integers(1, 128, (64, 512)).astype(np.int8)
    mag = w + rng.random(w.shape)
    cases = {"2:4": (n_of_m(mag, 2, 4), "nm", 0.625), "1:4": (n_of_m(mag, 1, 4), "nm", 0.3125),
             "50%": (unstructured(mag, 0.5), "mask", 0.625), "95%": (unstructured(mag, 0.95), "runs", 0.11)}
    for name, (keep, fmt, ratio) in cases.items():
        enc = sparse_weights.choose(np.where(keep, w, 0).astype(np.int8))
        assert enc is not None and enc.format == fmt, name
        assert enc.nbytes / w.size == pytest.approx(ratio, abs=0.01), name
    assert sparse_weights.choose(w) is None  # dense: no saving
    assert sparse_weights.choose(np.where(unstructured(mag, 0.3), w, 0).astype(np.int8)) is None  # < 20%


@pytest.fixture(scope="module")
def sparse_plans(net):
    """The int8 net pruned three ways: each plan uses sparse kernels (all three formats appear)."""
    model, x = net
    graph = load_torch(model, x[0])
    out = {}
    for name, (s, method) in {"mask": (0.6, "unstructured"), "runs": (0.95, "unstructured"),
                              "nm": (0.0, "n:m")}.items():
        q = ptq(prune(graph, s, method), x[:32])
        out[name] = (q, plan_memory(lower(q)), quantize_input(q, x))
    return out


def test_sparse_plans_use_sparse_kernels_and_equal_dense(sparse_plans, monkeypatch) -> None:
    formats = set()
    for q, plan, xq in sparse_plans.values():
        sparse = [s for s in plan.steps if "sparse" in s.kernel]
        assert {s.kernel for s in sparse} == {"conv2d_sparse_s8", "fully_connected_sparse_s8"}
        formats |= {s.params["format"] for s in sparse}
        for s in sparse:
            stored = sum(a.nbytes for a in s.consts.values()) - 12 * len(s.consts["bias"])  # the weights
            assert stored < 0.8 * s.params["dense_bytes"]
        monkeypatch.setattr(sparse_weights, "SPARSE_MIN_SAVING", 1.0)  # force dense kernels
        dense = lower(q)
        monkeypatch.undo()
        assert not any("sparse" in s.kernel for s in dense.steps)
        ref = run_plan(plan, [xq])[q.outputs[0]]
        assert ref.tobytes() == run_plan(dense, [xq])[q.outputs[0]].tobytes()
    assert formats == {"mask", "runs", "nm"}


@pytest.mark.parametrize("cc", ["gcc", "clang"])
@pytest.mark.parametrize("fmt", ["mask", "runs", "nm"])
def test_sparse_kernels_host_equals_reference(sparse_plans, fmt: str, cc: str, tmp_path, monkeypatch) -> None:
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    monkeypatch.setenv("CC", cc)
    q, plan, xq = sparse_plans[fmt]
    generate(plan, tmp_path / "lib", "net")
    ref = run_plan(plan, [xq])[q.outputs[0]].reshape(len(xq), -1)
    host = run_host(tmp_path / "lib", "net", xq.reshape(len(xq), -1), cflags=STRICT)
    assert host.tobytes() == ref.tobytes()
    if cc == "gcc":
        sanitized = run_host(tmp_path / "lib", "net", xq[:16].reshape(16, -1), sanitize=True)
        assert sanitized.tobytes() == ref[:16].tobytes()


def test_sparse_kernels_on_board_equal_reference(sparse_plans) -> None:
    for fmt in ("mask", "nm"):
        q, plan, xq = sparse_plans[fmt]
        out, _ = run_on_target(plan, xq[:20], "nucleo-l4r5zi")
        assert out.tobytes() == run_plan(plan, [xq[:20]])[q.outputs[0]].tobytes(), fmt


# --- prune_torch --------------------------------------------------------------------------------------


def test_prune_torch_channel_with_finetune(net) -> None:
    model, x = net
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = {}

    def finetune(m: torch.nn.Module) -> None:
        seen["training"] = m.training
        opt = torch.optim.SGD(m.parameters(), lr=0.05)
        for _ in range(3):
            loss = m(torch.from_numpy(x[:, 0])).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        seen["c1_zero_rows"] = int((m.c1.weight.detach().abs().sum(dim=(1, 2, 3)) == 0).sum())

    pruned = prune_torch(model, 0.5, "channel", finetune=finetune, example_input=x[0])
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # the original is untouched
    assert seen == {"training": True, "c1_zero_rows": 8}  # masks hold while training
    assert not pruned.training and not hasattr(pruned.c1, "parametrizations")
    assert torch_sparsity(pruned)["fc2"] == 0.0  # the classifier keeps its outputs
    graph = load_torch(pruned, x[0])
    removed = remove_channels(graph)
    assert weights(removed) == HALVED
    with torch.no_grad():
        expected = pruned(torch.from_numpy(x[:, 0])).numpy()
    got = run_plan(lower(removed), [x])[removed.outputs[0]].reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_prune_torch_n_m_in_kernel_order(net) -> None:
    model, x = net
    pruned = prune_torch(model, 0.0, "n:m", n_m=(2, 4), example_input=x[0])
    sparsity = torch_sparsity(pruned)
    assert all(abs(s - 0.5) < 0.07 for name, s in sparsity.items() if name != "c1")  # rows of 9: 5 of 9
    graph = load_torch(pruned, x[0])
    for node in graph.nodes:  # every group of 4 in tinyc's order (OHWI, channels-last columns) keeps 2
        if node.op in ("conv2d", "fully_connected") and node.name != "/c1/Conv":
            w = graph.tensor(node.inputs[1]).data
            rows = w.reshape(w.shape[0], -1)
            assert (rows.reshape(rows.shape[0], -1, 4) != 0).sum(axis=2).max() <= 2, node.name
    pruned_u = prune_torch(model, 0.7, "unstructured")
    assert all(abs(s - 0.7) < 0.02 for s in torch_sparsity(pruned_u).values())
