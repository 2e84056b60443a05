"""Hostile model files through the whole pipeline: success or one clean error line, never a traceback.

A fixed corpus of mutants of every model in ../shared/models (benchmarks/fuzz.py makes them: byte flips,
inserts, deletes, truncation, extreme int32 words, flatbuffer-aware TFLite edits, ONNX edits through the onnx
API, llama2.c header / weight / tokenizer edits), run in-process as the CLI runs them (load + verify,
inspect's summary, lowering, memory planning, a reference run, code generation for some); a small sample
through `python -m tinyc` in a subprocess; and one reproducer per defect class of issue 11.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import fuzz
from tests.conftest import MLPERF_INT8, MODELS, REPO
from tests.helpers import assert_one_line_error, invoke
from tinyc.errors import MESSAGE_MAX, one_line, shown

CHUNKS = 4
PER_CHUNK = 300  # 1,200 mutants in-process (benchmarks/fuzz.py runs 100,000)
SUBPROCESS_MUTANTS = 8
BASE_SEED = 11

needs_models = pytest.mark.skipif(not MODELS.is_dir(), reason="../shared/models not found: the third-party "
                                  "reference models are not in this checkout")


@needs_models
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_mutants_in_process(chunk: int, tmp_path) -> None:
    corpus = fuzz.seeds()
    bad, outcomes = [], {}
    for i in range(chunk * PER_CHUNK, (chunk + 1) * PER_CHUNK):
        seed, kind, outcome, detail = fuzz.run_mutant(i, BASE_SEED, corpus, tmp_path, codegen_every=40)
        outcomes.setdefault(seed.fmt, set()).add(outcome)
        if outcome not in ("ok", "clean error"):
            bad.append(f"mutant {i} ({seed.name}, {kind}): {outcome}: {detail}")
        elif outcome == "clean error":
            line = one_line(detail)
            assert "\n" not in line and len(line) <= MESSAGE_MAX + 10
    assert not bad, "\n".join(bad)
    # the corpus reaches the later stages: some mutants of each format are accepted, some refused
    for fmt, seen in outcomes.items():
        assert {"ok", "clean error"} <= seen or chunk, (fmt, seen)


def _seed_input(seed: fuzz.Seed, tmp: Path) -> Path:
    from tinyc.frontends import load_model

    graph = load_model(seed.path)
    t = graph.tensor(graph.inputs[0])
    path = tmp / "in.npy"
    np.save(path, np.zeros(t.shape, t.np_dtype))
    return path


@needs_models
def test_mutants_through_the_command_line(tmp_path) -> None:
    """exit 0 or 2, at most one line on stderr, no traceback, no signal, no hang."""
    corpus = [s for s in fuzz.seeds() if s.fmt != "tflite" or "zoo" not in s.name]
    failures = []
    for i in range(SUBPROCESS_MUTANTS):
        seed, kind, data = fuzz.mutant(i, BASE_SEED + 1, corpus)
        path = tmp_path / f"m{i}{seed.path.suffix}"
        path.write_bytes(data)
        if seed.fmt == "checkpoint":
            args = ["generate", path, "--tokenizer", MODELS / fuzz.LLM_TOKENIZER, "--steps", "3"]
        elif seed.fmt == "tokenizer":
            args = ["generate", MODELS / fuzz.LLM_CHECKPOINT, "--tokenizer", path, "--steps", "3"]
        else:
            args = ["run", path, "-i", _seed_input(seed, tmp_path), "-o", tmp_path / "out.npy"]
        try:
            proc = subprocess.run([sys.executable, "-m", "tinyc", *map(str, args)], capture_output=True, text=True,
                                  timeout=300, cwd=REPO)
        except subprocess.TimeoutExpired:
            failures.append(f"mutant {i} ({seed.name}, {kind}): hang")
            continue
        err = proc.stderr.strip()
        if proc.returncode not in (0, 2) or len(err.splitlines()) > 1 or "Traceback" in err:
            failures.append(f"mutant {i} ({seed.name}, {kind}): exit {proc.returncode}: {err[-500:]}")
    assert not failures, "\n".join(failures)


# --- one reproducer per defect class of issue 11 ---------------------------------------------------


def _tflite_patch(src: Path, tmp: Path, edit) -> Path:  # noqa: ANN001
    """A copy of src with edit(buffer, model) applied in place."""
    import tflite

    data = src.read_bytes()
    buf = bytearray(data)
    edit(buf, tflite.Model.GetRootAsModel(data, 0))
    out = tmp / f"hostile_{src.name}"
    out.write_bytes(bytes(buf))
    return out


def _tensor_by_name(model, needle: str):  # noqa: ANN001, ANN202
    sub = model.Subgraphs(0)
    return next(sub.Tensors(i) for i in range(sub.TensorsLength()) if needle in sub.Tensors(i).Name().decode())


def _bias_of_first_conv(model):  # noqa: ANN001, ANN202
    sub = model.Subgraphs(0)
    op = next(sub.Operators(k) for k in range(sub.OperatorsLength()) if sub.Operators(k).InputsLength() == 3)
    return sub.Tensors(int(op.InputsAsNumpy()[2]))


@pytest.fixture
def kws(models_dir) -> Path:
    return models_dir / MLPERF_INT8["kws"]


def test_bias_without_data(kws, tmp_path) -> None:
    def edit(buf, model) -> None:  # noqa: ANN001
        fuzz._put(buf, fuzz._field(_bias_of_first_conv(model)._tab, 8), "<I", 0)  # buffer 0: no data

    code, err, _ = invoke("inspect", _tflite_patch(kws, tmp_path, edit))
    assert_one_line_error(code, err, "functional_1/", "an activation")  # a bias without data is no constant


def test_bias_of_the_wrong_length(kws, tmp_path) -> None:
    def edit(buf, model) -> None:  # noqa: ANN001
        t = _bias_of_first_conv(model)._tab
        pos, _ = fuzz._vector(t, 4)
        fuzz._put(buf, pos, "<i", 16)  # shape [64] -> [16]; the data (64 values) no longer fits it

    code, err, _ = invoke("inspect", _tflite_patch(kws, tmp_path, edit))
    assert_one_line_error(code, err, "256 bytes of data for shape [16]")


def test_weights_of_the_wrong_rank(kws, tmp_path) -> None:
    """The first conv's weights claim shape [64, 10, 4, 1] -> [64, 10, 4]: the verifier refuses, naming the node."""
    def edit(buf, model) -> None:  # noqa: ANN001
        sub = model.Subgraphs(0)
        w = sub.Tensors(int(sub.Operators(0).InputsAsNumpy()[1]))._tab
        pos, n = fuzz._vector(w, 4)
        fuzz._put(buf, pos - 4, "<I", n - 1)
        fuzz._put(buf, pos + 4 * (n - 2), "<i", 4)  # keep the element count: [64, 10, 4]

    code, err, _ = invoke("inspect", _tflite_patch(kws, tmp_path, edit))
    assert_one_line_error(code, err, "conv_2d_0", "weights must be a constant OHWI tensor")


def test_16_tib_tensor_is_refused_before_allocation(kws, tmp_path) -> None:
    def edit(buf, model) -> None:  # noqa: ANN001
        sub = model.Subgraphs(0)
        pos, _ = fuzz._vector(sub.Tensors(int(sub.InputsAsNumpy()[0]))._tab, 4)
        struct.pack_into("<4i", buf, pos, 1, 1 << 20, 1 << 20, 16)

    code, err, _ = invoke("inspect", _tflite_patch(kws, tmp_path, edit))
    assert_one_line_error(code, err, "17,592,186,044,416 values", "more than the limit")


def test_graph_output_no_node_produces(kws, tmp_path) -> None:
    def edit(buf, model) -> None:  # noqa: ANN001
        sub = model.Subgraphs(0)
        pos, _ = fuzz._vector(sub._tab, 8)
        fuzz._put(buf, pos, "<i", int(sub.Operators(0).InputsAsNumpy()[2]))  # the output: a bias

    code, err, _ = invoke("inspect", _tflite_patch(kws, tmp_path, edit))
    assert_one_line_error(code, err, "graph output", "is a constant; no node computes it")


@pytest.mark.parametrize("scale", [float("inf"), float("nan"), 1e-45, 1e38])
def test_quantization_scale_out_of_range(kws, tmp_path, scale: float) -> None:
    def edit(buf, model) -> None:  # noqa: ANN001
        import tflite

        t = _tensor_by_name(model, "Conv2D")._tab
        q = tflite.QuantizationParameters()
        q.Init(t.Bytes, t.Indirect(t.Pos + t.Offset(12)))
        fuzz._put(buf, fuzz._vector(q._tab, 8)[0], "<f", scale)

    code, err, _ = invoke("inspect", _tflite_patch(kws, tmp_path, edit))
    assert_one_line_error(code, err, "quantization scale", "outside the supported 1e-30..1e+30")


def test_requantization_multiplier_the_kernels_cannot_represent(kws, tmp_path) -> None:
    """Every scale in range, but input * weight / output scale >= 2**31: refused, not an overflow in a kernel."""
    def edit(buf, model) -> None:  # noqa: ANN001
        import tflite

        sub = model.Subgraphs(0)
        out = sub.Tensors(int(sub.Operators(0).OutputsAsNumpy()[0]))._tab
        q = tflite.QuantizationParameters()
        q.Init(out.Bytes, out.Indirect(out.Pos + out.Offset(12)))
        fuzz._put(buf, fuzz._vector(q._tab, 8)[0], "<f", 1e-25)

    code, err, _ = invoke("inspect", _tflite_patch(kws, tmp_path, edit))
    assert_one_line_error(code, err, "conv_2d_0", "requantization multiplier", "outside what the int8 kernels")


def test_hostile_names_are_escaped_and_cut(models_dir, tmp_path) -> None:
    """Node names with a newline, an escape sequence, NUL, invalid UTF-8, 10,000 characters: `inspect` works (the
    invalid bytes decoded with replacement); an error naming such a node is one line, escaped and cut."""
    import onnx

    model = onnx.load(str(models_dir / "onnx/tfl_helloworld_sine.onnx"))
    model.graph.node[0].name = "QQQQ"
    model.graph.node[2].name = "Evil\n\x1b[2J\x00" + "x" * 10_000
    path = tmp_path / "names.onnx"
    path.write_bytes(model.SerializeToString().replace(b"QQQQ", b"\xff\xfe\n\x1b"))
    code, err, out = invoke("inspect", path, "--json")
    assert code == 0, err
    assert "\ufffd\ufffd\n\x1b" in [n["node"] for n in json.loads(out)["nodes"]]  # decoded with replacement
    model.graph.node[2].op_type = "Hardmax"  # an ONNX op tinyc has no converter for: the error names the node
    path.write_bytes(model.SerializeToString().replace(b"QQQQ", b"\xff\xfe\n\x1b"))
    code, err, _ = invoke("inspect", path)
    assert_one_line_error(code, err, "unsupported op Hardmax in node 'Evil\\n\\x1b[2J\\x00xxx", "...[cut]")
    assert len(err) < 400 and "\x1b" not in err


def test_non_utf8_prompt_is_a_clear_error(models_dir) -> None:
    code, err, _ = invoke("generate", models_dir / fuzz.LLM_CHECKPOINT, "--tokenizer", models_dir / fuzz.LLM_TOKENIZER,
                          "--steps", "4", "--prompt", "caf\udce9")
    assert_one_line_error(code, err, "the prompt is not valid UTF-8", "0xe9")


def test_hostile_checkpoint_header(models_dir, tmp_path) -> None:
    data = bytearray((models_dir / fuzz.LLM_CHECKPOINT).read_bytes())
    struct.pack_into("<i", data, 0, 2**31 - 1)
    path = tmp_path / "huge.bin"
    path.write_bytes(bytes(data))
    code, err, _ = invoke("generate", path, "--tokenizer", models_dir / fuzz.LLM_TOKENIZER, "--steps", "2")
    assert_one_line_error(code, err, "header field dim is 2147483647, larger than the sane limit")


def test_warnings_only_with_verbose(models_dir, tmp_path) -> None:
    """float64 weights beyond float32's range: NumPy's RuntimeWarning (overflow in cast) is shown with -v only."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(models_dir / "onnx/tfl_helloworld_sine.onnx"))
    t = model.graph.initializer[0]
    t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float64) * 1e300, t.name))
    path = tmp_path / "overflow.onnx"
    path.write_bytes(model.SerializeToString())
    quiet, loud = (subprocess.run([sys.executable, "-m", "tinyc", *flags, "inspect", str(path)], capture_output=True,
                                  text=True, cwd=REPO) for flags in ([], ["-v"]))
    assert quiet.returncode == loud.returncode == 0
    assert quiet.stderr == "", quiet.stderr
    assert "RuntimeWarning: overflow encountered in cast" in loud.stderr, loud.stderr


def test_shown_escapes_and_cuts() -> None:
    assert shown("a\nb\x00\x1b[31m\u202e") == "a\\nb\\x00\\x1b[31m\\u202e"
    assert shown(b"\xff") == "\ufffd"
    long = shown("x" * 500)
    assert long.endswith("...[cut]") and len(long) <= 80 + len("...[cut]")
    assert one_line("first\nsecond\r\n") == "first\\nsecond\\r\\n"
    rng = random.Random(0)
    for _ in range(200):
        text = "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(200)))
        line = one_line(text)
        assert len(line.splitlines()) <= 1 and line.isprintable()
