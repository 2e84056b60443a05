"""TFLM's signal ops (the micro_speech audio front end): each op as a single-op .tflite (CUSTOM operator with
flexbuffer options, written by tinyc's exporter, read back by its frontend) equals TFLM byte for byte on random
inputs with extremes, as independent inferences and, for the stateful spectral subtraction, as a sequence of
invocations without reset; the generated C of all cases (one library, ASan/UBSan, -Werror) equals the reference;
the whole audio preprocessor model equals TFLM on >= 200 frames of audio, independent and as one stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.single_op import Case, case_graph, merge
from tinyc.errors import GraphError, ModelError
from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.pipeline import compile_library, model_name
from tinyc.runtime import run_plan, run_sequence
from tinyc.targets import run_host
from tinyc.targets.library import pack_records, split_records

N = 200  # random inputs per case
MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "zoo" / "tflm_audio_preprocessor_int8.tflite"
SUBTRACTION = {"alternate_one_minus_smoothing": 15401, "alternate_smoothing": 983, "clamping": False,
               "min_signal_remaining": 819, "num_channels": 40, "one_minus_smoothing": 15975, "smoothing": 409,
               "smoothing_bits": 10, "spectral_subtraction_bits": 14}


def _bands(rng: np.random.Generator, channels: int, energies: int) -> list[np.ndarray]:
    widths = rng.integers(0, 9, channels + 1).astype(np.int16)
    starts = np.sort(rng.integers(0, energies - 8, channels + 1)).astype(np.int16)
    at = np.concatenate([[0], np.cumsum(widths[:-1])]).astype(np.int16)
    n = int(widths.sum())
    weights, unweights = (rng.integers(-4096, 4097, n).astype(np.int16) for _ in range(2))
    return [weights, unweights, starts, at, widths]


def _pcan_lut() -> np.ndarray:
    """A gain table of PCAN's shape: (value, slope, curvature) per quarter octave, from a smooth gain curve."""
    x = np.arange(125)
    return np.clip(np.round(32000 * np.exp(-x / 40.0) * np.cos(x)), -32768, 32767).astype(np.int16)


def _cases() -> list[Case]:
    rng = np.random.default_rng(12)
    i16, u32, u64, i32 = "int16", "uint32", "uint64", "int32"
    window = rng.integers(-32768, 32768, 160).astype(np.int16)
    out = [
        Case("window", "signal_window", [((1, 480), i16), rng.integers(0, 4097, 480).astype(np.int16)],
             [((1, 480), i16)], {"shift": 12}),
        Case("window_repeat", "signal_window", [((2, 320), i16), window], [((2, 320), i16)], {"shift": 3}),
        Case("auto_scale", "signal_fft_auto_scale", [((480,), i16)], [((480,), i16), ((), i32)]),
        Case("auto_scale_odd", "signal_fft_auto_scale", [((7,), i16)], [((7,), i16), ((), i32)]),
        Case("energy", "signal_energy", [((514,), i16)], [((257,), u32)], {"start_index": 5, "end_index": 241}),
        Case("energy_all", "signal_energy", [((18,), i16)], [((9,), u32)], {"start_index": 0, "end_index": 9}),
        Case("filter_bank", "signal_filter_bank", [((64,), u32), *_bands(rng, 12, 64)], [((12,), u64)],
             {"num_channels": 12}),
        Case("square_root", "signal_filter_bank_square_root", [((40,), u64), ((), i32)], [((40,), u32)]),
        Case("subtraction", "signal_filter_bank_spectral_subtraction", [((40,), u32)], [((40,), u32)] * 2,
             SUBTRACTION),
        Case("subtraction_clamp", "signal_filter_bank_spectral_subtraction", [((7,), u32)], [((7,), u32)] * 2,
             SUBTRACTION | {"clamping": True, "num_channels": 7, "smoothing_bits": 3, "smoothing": 5000,
                            "spectral_subtraction_bits": 13}),
        Case("pcan", "signal_pcan", [((40,), u32), ((40,), u32), _pcan_lut()], [((40,), u32)], {"snr_shift": 6}),
        Case("pcan_shift0", "signal_pcan", [((9,), u32), ((9,), u32), _pcan_lut()], [((9,), u32)], {"snr_shift": 0}),
        Case("log", "signal_filter_bank_log", [((40,), u32)], [((40,), i16)],
             {"input_correction_bits": 3, "output_scale": 64}),
        Case("log_wide", "signal_filter_bank_log", [((40,), u32)], [((40,), i16)],
             {"input_correction_bits": 0, "output_scale": -7}),
    ]
    for length, fft in ((480, 512), (512, 512), (100, 128), (64, 64), (7, 8)):
        out.append(Case(f"rfft_{length}_{fft}", "signal_rfft", [((length,), i16)], [((fft + 2,), i16)],
                        {"fft_length": fft, "dtype": "int16"}))
    out.append(Case("rfft_rows", "signal_rfft", [((3, 30), i16)], [((3, 34), i16)], {"fft_length": 32, "dtype": i16}))
    return out


CASES = _cases()


def signal_input(dtype: str, shape: tuple[int, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """Random values spread over every magnitude (each value shifted right by a random amount), with extremes:
    zeros, the type's minimum and maximum, and small values."""
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, size=(n, *shape), endpoint=True, dtype=np.int64 if info.min else np.uint64)
    shift = rng.integers(0, info.bits, size=(n, *shape))
    x = x >> shift.astype(x.dtype)
    x[0], x[1], x[2] = 0, info.max, info.min
    x[3] = rng.integers(-3 if info.min else 0, 4, size=shape)
    if info.min:  # one -32768 among small values: MaxAbs16's wrap
        x[4] = rng.integers(-50, 50, size=shape)
        x[4].reshape(-1)[0] = info.min
    return x.astype(dtype)


def tflm_interpreter(path: Path):  # noqa: ANN201
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_file(str(path), arena_size=1 << 18)


def tflm_invoke(path: Path, xs: list[np.ndarray], n_out: int, sequence: bool) -> list[np.ndarray]:
    """TFLM on each record: independent inferences (reset before each) or one stream of invocations."""
    interp = tflm_interpreter(path)
    shapes = [tuple(interp.get_input_details(k)["shape"]) for k in range(len(xs))]  # () for a scalar
    outs: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    for i in range(len(xs[0])):
        if not sequence:
            interp.reset()
        for k, x in enumerate(xs):
            interp.set_input(x[i].reshape(shapes[k]), k)
        interp.invoke()
        for k in range(n_out):
            outs[k].append(interp.get_output(k).copy())
    return [np.stack(o) for o in outs]


def compared(case: Case, name: str, a: np.ndarray) -> np.ndarray:
    """The bytes of an output TFLM defines: SignalEnergy leaves the bins outside its range unwritten."""
    a = a.reshape(len(a), -1)
    if case.op == "signal_energy":
        a = a[:, case.attrs["start_index"]:case.attrs["end_index"]]
    return np.ascontiguousarray(a).view(np.uint8)


def assert_equal(case: Case, graph: Graph, got: dict[str, np.ndarray], want: list[np.ndarray], what: str) -> None:
    for name, w in zip(graph.outputs, want, strict=True):
        g = got[name]
        assert g.dtype == w.dtype, f"{case.id}: {g.dtype} vs TFLM {w.dtype}"
        bad = np.flatnonzero(np.any(compared(case, name, g) != compared(case, name, w), axis=1))
        assert bad.size == 0, f"{case.id} ({what}): output '{name}' differs from TFLM on inputs {bad[:10]}"


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list[tuple[Case, Graph, list[np.ndarray]]]:
    folder = tmp_path_factory.mktemp("signal")
    done = []
    for k, case in enumerate(CASES):
        path = folder / f"{case.id}.tflite"
        write_tflite(case_graph(case), path)
        graph = load_model(path)
        rng = np.random.default_rng(k)
        xs = [signal_input(graph.tensor(n).dtype, graph.tensor(n).shape, N, rng) for n in graph.inputs]
        plan = plan_memory(lower(graph))
        assert_equal(case, graph, run_plan(plan, xs), tflm_invoke(path, xs, len(graph.outputs), False), "independent")
        if any(step.state for step in plan.steps):
            assert_equal(case, graph, run_sequence(plan, xs), tflm_invoke(path, xs, len(graph.outputs), True),
                         "sequence")
        done.append((case, graph, xs))
    return done


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) >= 20  # each compared byte for byte on N inputs inside `checked`
    assert {c.op for c, _, _ in checked} == {
        "signal_window", "signal_fft_auto_scale", "signal_rfft", "signal_energy", "signal_filter_bank",
        "signal_filter_bank_square_root", "signal_filter_bank_spectral_subtraction", "signal_pcan",
        "signal_filter_bank_log"}


def host_outputs(plan, xs: list[np.ndarray], tmp: Path, sequence: bool) -> list[np.ndarray]:  # noqa: ANN001
    name = model_name(plan)
    compile_library(plan, tmp / "lib", "host", name)
    records = run_host(tmp / "lib", name, pack_records(xs), sanitize=True, cflags=("-Werror",), sequence=sequence)
    return split_records(records, [(plan.graph.tensor(n).np_dtype, plan.graph.tensor(n).shape)
                                   for n in plan.graph.outputs])


def test_generated_c_equals_reference(checked, tmp_path) -> None:
    graph = merge([g for _, g, _ in checked], "signal")
    plan = plan_memory(lower(graph))
    xs = [x[:64] for _, _, case_xs in checked for x in case_xs]
    for sequence, want in ((False, run_plan(plan, xs)), (True, run_sequence(plan, xs))):
        got = host_outputs(plan, xs, tmp_path / str(sequence), sequence)
        for name, g in zip(graph.outputs, got, strict=True):
            assert g.tobytes() == want[name].tobytes(), (name, sequence)


def audio_frames(n: int, rng: np.random.Generator) -> np.ndarray:
    """n frames of 480 int16 samples: noise at every level, silence, full scale, sines, clipped squares."""
    t = np.arange(480)
    frames = []
    for k in range(n):
        kind = k % 5
        if kind == 0:
            x = rng.integers(-32768, 32768, 480) >> rng.integers(0, 16)
        elif kind == 1:
            x = np.round(rng.uniform(1, 32767) * np.sin(2 * np.pi * rng.uniform(20, 7900) * t / 16000))
        elif kind == 2:
            x = np.sign(np.sin(2 * np.pi * rng.uniform(50, 2000) * t / 16000)) * rng.integers(1, 32768)
        elif kind == 3:
            x = rng.normal(0, 10.0 ** rng.uniform(0, 4), 480)
        else:
            x = np.zeros(480) if rng.random() < 0.5 else np.full(480, rng.choice([-32768, 32767]))
        frames.append(np.clip(x, -32768, 32767))
    frames[0][:] = 0
    frames[1][:] = -32768
    frames[2][:] = 32767
    return np.stack(frames).astype(np.int16).reshape(n, 1, 480)


@pytest.mark.skipif(not MODEL.exists(), reason=f"{MODEL} is not here (../shared/models not checked out)")
def test_audio_preprocessor_equals_tflm(tmp_path) -> None:
    """micro_speech's front end: 240 frames as independent inferences (reset before each) and as one stream
    (the spectral subtraction's noise estimate carried over), ref and host C against TFLM."""
    plan = plan_memory(lower(load_model(MODEL)))
    assert sum(len(s.state) for s in plan.steps) == 1
    x = audio_frames(240, np.random.default_rng(3))
    tflm = {}
    for sequence in (False, True):
        want = tflm[sequence] = tflm_invoke(MODEL, [x], 1, sequence)[0]
        ref = (run_sequence if sequence else run_plan)(plan, [x])[plan.graph.outputs[0]]
        assert ref.dtype == want.dtype == np.int8
        bad = np.flatnonzero(np.any(ref.reshape(len(x), -1) != want.reshape(len(x), -1), axis=1))
        assert bad.size == 0, f"sequence={sequence}: differs from TFLM on frames {bad[:10]}"
        host = host_outputs(plan, [x], tmp_path / str(sequence), sequence)[0]
        assert host.tobytes() == ref.tobytes(), f"sequence={sequence}"
    assert len(np.unique(want.reshape(len(x), -1), axis=0)) > 100  # the frames give distinct features
    carried = np.any(tflm[True] != tflm[False], axis=1)  # the noise estimate changes the stream's features
    assert carried[1:].mean() > 0.5


def _bad_options(tmp_path: Path, case: Case, options: bytes) -> Path:
    """The case's single-op model with its custom options replaced."""
    from tinyc.export import tflite_signal

    original = tflite_signal.CONVERTERS[case.op]

    def patched(node, graph):  # noqa: ANN001, ANN202
        spec = original(node, graph)
        spec.custom_options = options
        return spec

    tflite_signal.CONVERTERS[case.op] = patched
    from tinyc.export import tflite_ops

    tflite_ops.CONVERTERS[case.op] = patched
    try:
        path = tmp_path / f"{case.id}.tflite"
        write_tflite(case_graph(case), path)
    finally:
        tflite_signal.CONVERTERS[case.op] = original
        tflite_ops.CONVERTERS[case.op] = original
    return path


def test_option_refusals(tmp_path) -> None:
    from flatbuffers import flexbuffers

    window = CASES[0]
    for options, needle in ((b"\x01\x02\x03", "malformed custom options|not a flexbuffer map"),
                            (b"\xff" * 9, "malformed custom options|not a flexbuffer map"),
                            (bytes(flexbuffers.Dumps({"shift": 1, "extra": 2})), "custom option keys"),
                            (bytes(flexbuffers.Dumps({"shift": 1.5})), "must be an integer"),
                            (bytes(flexbuffers.Dumps([1, 2])), "not a flexbuffer map"),
                            (bytes(flexbuffers.Dumps({"shift": 40})), "outside 0..31")):
        with pytest.raises((ModelError, GraphError), match=needle):
            load_model(_bad_options(tmp_path, window, options))


def test_shape_and_range_refusals() -> None:
    u32 = "uint32"
    bad = [
        (Case("fft7", "signal_rfft", [((14,), "int16")], [((16,), "int16")], {"fft_length": 14, "dtype": "int16"}),
         "radix-7"),
        (Case("fft_i8", "signal_rfft", [((8,), "int16")], [((10,), "int16")], {"fft_length": 8, "dtype": "int8"}),
         "only the int16, int32, float32 FFTs"),
        (Case("fft_out", "signal_rfft", [((8,), "int16")], [((8,), "int16")], {"fft_length": 8, "dtype": "int16"}),
         "complex values"),
        (Case("energy", "signal_energy", [((8,), "int16")], [((4,), u32)], {"start_index": 3, "end_index": 5}),
         "end_index"),
        (Case("bank", "signal_filter_bank", [((8,), u32), np.ones(4, np.int16), np.ones(4, np.int16),
                                              np.array([0, 6], np.int16), np.zeros(2, np.int16),
                                              np.array([2, 3], np.int16)], [((1,), "uint64")], {"num_channels": 1}),
         "band 1 reads energies"),
        (Case("pcan", "signal_pcan", [((4,), u32), ((4,), u32), np.ones(100, np.int16)], [((4,), u32)],
              {"snr_shift": 6}), "needs 125"),
        (Case("sub", "signal_filter_bank_spectral_subtraction", [((4,), u32)], [((4,), u32)] * 2, SUBTRACTION),
         "num_channels is 40"),
    ]
    for case, needle in bad:
        with pytest.raises(GraphError, match=needle):
            case_graph(case)
