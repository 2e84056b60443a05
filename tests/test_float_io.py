"""Float in, float out (issue 16): `tinyc run --float-io` on every model of ../shared/models equals quantizing
the inputs and dequantizing the outputs by hand with NumPy; the generated C helpers <name>_quantize_input /
<name>_dequantize_output equal the reference runtime's QUANTIZE kernel (and dequantization) on every value
tried, ties, out-of-range values, infinities and NaN included; calibration takes samples without the batch axis.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinyc.cli import main
from tinyc.floatio import as_batch, dequantize_outputs, quantize_inputs
from tinyc.ops.quantize import INT_RANGES
from tinyc.pipeline import build_plan, compile_library

RUNS = 6  # inferences per model
MODELS = sorted(str(p.relative_to(Path(__file__).resolve().parents[2] / "shared" / "models"))
                for p in (Path(__file__).resolve().parents[2] / "shared" / "models").rglob("*")
                if p.suffix in (".tflite", ".onnx"))
REFUSED = {"zoo/tflm_audio_preprocessor_int8.tflite": "is int16 without quantization"}  # raw audio, no scale


def hand_quantize(x: np.ndarray, scale: float, zp: int, dtype: str) -> np.ndarray:
    """round(x / scale) half away from zero, + zero point, clamped: written out with NumPy."""
    v = (x.astype(np.float32) / np.float32(scale)).astype(np.float64)
    r = np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5))
    lo, hi = INT_RANGES[dtype]
    return np.clip(r + zp, lo, hi).astype(dtype)


def hand_dequantize(q: np.ndarray, scale: float, zp: int) -> np.ndarray:
    return np.float32(scale) * (q.astype(np.int64) - zp).astype(np.float32)


def float_inputs(rng: np.random.Generator, t, n: int) -> np.ndarray:
    """Values over the tensor's range and beyond, a third of them exact ties of x / scale."""
    shape = (n, *t.shape)
    if t.quant is None:
        return rng.uniform(-3, 3, shape).astype(np.float32)
    lo, hi = INT_RANGES[t.dtype]
    s, zp = t.quant.s, t.quant.zp
    x = rng.uniform((lo - zp - 8) * s, (hi - zp + 8) * s, shape).astype(np.float32)
    ties = (np.float32(s) * (rng.integers(lo - zp - 4, hi - zp + 4, shape) + 0.5)).astype(np.float32)
    return np.where(rng.random(shape) < 1 / 3, ties, x)


@pytest.mark.parametrize("model", MODELS)
def test_float_io_equals_hand_quantization(models_dir: Path, tmp_path: Path, model: str) -> None:
    path = models_dir / model
    graph = build_plan(path).graph
    rng = np.random.default_rng(16)
    x = float_inputs(rng, graph.tensor(graph.inputs[0]), RUNS) if len(graph.inputs) == 1 else None
    runner = CliRunner()
    if model in REFUSED:
        np.save(tmp_path / "x.npy", rng.uniform(-1, 1, (RUNS, *graph.tensor(graph.inputs[0]).shape)).astype("f4"))
        r = runner.invoke(main, ["run", str(path), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"),
                                 "--float-io"])
        assert r.exit_code == 2 and REFUSED[model] in r.output
        assert not (tmp_path / "y.npy").exists()
        return
    assert x is not None
    np.save(tmp_path / "x.npy", x)
    r = runner.invoke(main, ["run", str(path), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"),
                             "--float-io"])
    assert r.exit_code == 0, r.output
    t_in, t_out = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    q = x if t_in.quant is None else hand_quantize(x, t_in.quant.s, t_in.quant.zp, t_in.dtype)
    np.save(tmp_path / "q.npy", q)
    r = runner.invoke(main, ["run", str(path), "-i", str(tmp_path / "q.npy"), "-o", str(tmp_path / "yq.npy")])
    assert r.exit_code == 0, r.output
    yq = np.load(tmp_path / "yq.npy")
    expected = yq if t_out.quant is None else hand_dequantize(yq, t_out.quant.s, t_out.quant.zp)
    got = np.load(tmp_path / "y.npy")
    assert got.dtype == np.float32 and got.tobytes() == expected.astype(np.float32).tobytes()


HELPER_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "{name}.h"
/* q: floats on stdin -> quantized input values; d: output values on stdin -> floats */
int main(int argc, char **argv) {{
    static float f[{NAME}_INPUT_ELEMENTS > {NAME}_OUTPUT_ELEMENTS ? {NAME}_INPUT_ELEMENTS : {NAME}_OUTPUT_ELEMENTS];
    static {tin} qi[{NAME}_INPUT_ELEMENTS];
    static {tout} qo[{NAME}_OUTPUT_ELEMENTS];
    if (argc != 2) return 2;
    if (argv[1][0] == 'q') {{
        while (fread(f, sizeof(float), {NAME}_INPUT_ELEMENTS, stdin) == {NAME}_INPUT_ELEMENTS) {{
            {name}_quantize_input(f, qi);
            fwrite(qi, sizeof qi[0], {NAME}_INPUT_ELEMENTS, stdout);
        }}
    }} else {{
        while (fread(qo, sizeof qo[0], {NAME}_OUTPUT_ELEMENTS, stdin) == {NAME}_OUTPUT_ELEMENTS) {{
            {name}_dequantize_output(qo, f);
            fwrite(f, sizeof(float), {NAME}_OUTPUT_ELEMENTS, stdout);
        }}
    }}
    return 0;
}}
"""

HELPER_MODELS = {  # int8 -> int8, and int16 in / int32 out
    "mlperf_tiny/kws/kws_ref_model.tflite": ("int8_t", "int8_t"),
    "zoo/tflm_keyword_scrambled_8bit.tflite": ("int16_t", "int32_t"),
}


def probe_floats(rng: np.random.Generator, scale: float, n: int) -> np.ndarray:
    """Random values at several magnitudes, exact ties of x / scale, and the special values."""
    s = np.float32(scale)
    wide = (rng.standard_normal(n) * s * 10.0 ** rng.integers(0, 6, n)).astype(np.float32)
    cand = (s * (rng.integers(-40000, 40000, n) + 0.5)).astype(np.float32)
    ties = cand[(cand / s).astype(np.float64) % 1 == 0.5]  # the candidates whose float32 quotient is a tie
    special = np.array([0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 3.4e38, -3.4e38, 1e-45, -1e-45,
                        s * 16777216.0, -s * 16777216.0, s * 16777217.0, s * 0.5, -s * 0.5, s * 1.5, -s * 1.5],
                       dtype=np.float32)
    return np.concatenate([wide, ties, special]).astype(np.float32)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler")
@pytest.mark.parametrize("model", sorted(HELPER_MODELS))
def test_c_helpers_equal_reference(models_dir: Path, tmp_path: Path, model: str) -> None:
    plan = build_plan(models_dir / model)
    graph = plan.graph
    name = "m"
    compile_library(plan, tmp_path / "lib", "host", name)
    tin, tout = HELPER_MODELS[model]
    (tmp_path / "main.c").write_text(HELPER_MAIN.format(name=name, NAME=name.upper(), tin=tin, tout=tout))
    exe = tmp_path / "helpers"
    subprocess.run(["cc", "-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror",
                    f"-I{tmp_path / 'lib'}", str(tmp_path / "main.c"), "-o", str(exe)], check=True)
    t_in, t_out = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    rng = np.random.default_rng(3)
    x = probe_floats(rng, t_in.quant.s, 120_000)
    x = np.resize(x, (-(-x.size // t_in.size), t_in.size))  # whole records (the tail repeats the start)
    with np.errstate(invalid="ignore"):
        ties = int(np.count_nonzero((x / np.float32(t_in.quant.s)).astype(np.float64) % 1 == 0.5))
    assert ties > 1000
    got = np.frombuffer(subprocess.run([exe, "q"], input=x.tobytes(), capture_output=True, check=True).stdout,
                        dtype=t_in.np_dtype)
    want = quantize_inputs(graph, [x.reshape((len(x), *t_in.shape))])[0]
    assert got.tobytes() == want.tobytes(), f"{np.count_nonzero(got != want.reshape(-1))} of {x.size} differ"
    info = np.iinfo(t_out.np_dtype)
    values = np.concatenate([np.arange(max(info.min, -70000), min(info.max, 70000) + 1),
                             rng.integers(info.min, info.max, 50_000, endpoint=True), [info.min, info.max]])
    q = np.resize(values.astype(t_out.np_dtype), (-(-values.size // t_out.size), t_out.size))
    got = np.frombuffer(subprocess.run([exe, "d"], input=q.tobytes(), capture_output=True, check=True).stdout,
                        dtype=np.float32)
    want = dequantize_outputs(graph, [q.reshape((len(q), *t_out.shape))])[0]
    assert got.tobytes() == want.tobytes()


def test_samples_with_or_without_batch_axis() -> None:
    shape = (1, 1, 28, 28)
    x = np.zeros((5, 1, 28, 28), dtype=np.float32)
    assert as_batch(x, shape).shape == (5, *shape)  # N samples without the batch axis
    assert as_batch(x[:, np.newaxis], shape).shape == (5, *shape)  # with it
    assert as_batch(x[0], shape).shape == (1, *shape)  # one sample without it
    assert as_batch(np.zeros((5, 28, 28)), shape) is None


@pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler")
def test_float_io_on_host_equals_ref(models_dir: Path, tmp_path: Path) -> None:
    path = models_dir / "mlperf_tiny/kws/kws_ref_model.tflite"
    graph = build_plan(path).graph
    np.save(tmp_path / "x.npy", float_inputs(np.random.default_rng(5), graph.tensor(graph.inputs[0]), 20))
    outs = {}
    for target in ("ref", "host"):
        r = CliRunner().invoke(main, ["run", str(path), "-i", str(tmp_path / "x.npy"), "-o",
                                      str(tmp_path / f"{target}.npy"), "--float-io", "--target", target])
        assert r.exit_code == 0, r.output
        outs[target] = np.load(tmp_path / f"{target}.npy")
    assert outs["host"].dtype == np.float32 and outs["host"].tobytes() == outs["ref"].tobytes()
