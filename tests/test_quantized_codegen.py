"""Models quantized by tinyc itself (mnist-8, the sine MLP) compile to C that equals the reference
runtime byte for byte on 1,000+ inputs, with gcc and clang, and under ASan/UBSan."""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from tinyc.codegen import generate
from tinyc.frontends import load_model
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.quant import ptq, quantize_input
from tinyc.runtime import run_plan
from tinyc.targets import run_host

N = 1000


def mnist_samples(models_dir, rng: np.random.Generator, n: int) -> np.ndarray:
    folder = models_dir / "onnx/mnist-8"
    vectors = [numpy_helper.to_array(onnx.load_tensor(str(folder / f"test_data_set_{i}/input_0.pb")))
               for i in range(3)]
    noise = rng.uniform(0, 255, size=(n, 1, 1, 28, 28)).astype(np.float32)
    return np.concatenate([np.stack(vectors).astype(np.float32), noise])


def sine_samples(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(0, 2 * np.pi, size=(n, 1, 1)).astype(np.float32)


@pytest.fixture(scope="module", params=["mnist", "sine"])
def quantized(request, models_dir):
    rng = np.random.default_rng(5)
    if request.param == "mnist":
        graph = load_model(models_dir / "onnx/mnist-8/mnist-8.onnx")
        calib, test = mnist_samples(models_dir, rng, 64), mnist_samples(models_dir, rng, N)
    else:
        graph = load_model(models_dir / "onnx/tfl_helloworld_sine.onnx")
        calib, test = sine_samples(rng, 256), sine_samples(rng, N)
    qgraph = ptq(graph, calib, method="minmax")
    x = quantize_input(qgraph, test)
    return request.param, plan_memory(lower(qgraph)), x


@pytest.fixture(scope="module")
def library(quantized, tmp_path_factory):
    name, plan, _ = quantized
    out = tmp_path_factory.mktemp("lib") / name
    generate(plan, out, name)
    return out


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_host_equals_reference(quantized, library, cc, monkeypatch) -> None:
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    monkeypatch.setenv("CC", cc)
    name, plan, x = quantized
    assert len(x) >= N
    ref = run_plan(plan, [x])[plan.graph.outputs[0]].reshape(len(x), -1)
    host = run_host(library, name, x.reshape(len(x), -1), cflags=("-std=c99", "-Wall", "-Wextra", "-Werror",
                                                                  "-pedantic", "-ffp-contract=off"))
    assert host.tobytes() == ref.tobytes(), f"{name}: {int(np.any(host != ref, axis=1).sum())} of {len(x)} differ"


def test_sanitizers_clean(quantized, library) -> None:
    name, plan, x = quantized
    x = x[:100]
    ref = run_plan(plan, [x])[plan.graph.outputs[0]].reshape(len(x), -1)
    host = run_host(library, name, x.reshape(len(x), -1), sanitize=True)
    assert host.tobytes() == ref.tobytes()


def test_int8_mnist_still_reads_the_digits(models_dir) -> None:
    rng = np.random.default_rng(5)
    graph = load_model(models_dir / "onnx/mnist-8/mnist-8.onnx")
    qgraph = ptq(graph, mnist_samples(models_dir, rng, 64), method="minmax")
    vectors = mnist_samples(models_dir, rng, 0)
    out = run_plan(lower(qgraph), [quantize_input(qgraph, vectors)])[qgraph.outputs[0]]
    assert out.reshape(3, -1).argmax(axis=1).tolist() == [2, 0, 9]
