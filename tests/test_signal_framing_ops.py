"""TFLM's framing signal ops (SignalFramer, SignalOverlapAdd, SignalDelay, SignalStacker) and the FFTs beyond
int16 Rfft of power-of-two lengths (Rfft int32 / float32, Irfft int16 / int32 / float32, radix-3/5 lengths of
all): each op as a single-op CUSTOM .tflite (written by tinyc's exporter, read back by its frontend) equals TFLM
byte for byte on N random inputs with extremes, as independent inferences (TFLM reset before each) and, for the
stateful ops, as one stream of invocations; the generated C of all cases (one library, ASan/UBSan, -Werror)
equals the reference in both modes.

Frames TFLM leaves unwritten (a Framer frame that has not filled up, a Stacker output whose valid flag is false)
are excluded from the comparison: which they are is simulated here independently of tinyc's kernels."""

from __future__ import annotations

import numpy as np
import pytest

from tests.single_op import Case, case_graph, merge
from tests.test_signal_ops import host_outputs, signal_input, tflm_invoke
from tinyc.errors import GraphError, UnsupportedDtypeError
from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan, run_sequence

N = 200  # random inputs per case
I16, I32, F32, BOOL = "int16", "int32", "float32", "bool"
FLOAT_MAX = {"signal_overlap_add": 3e38}  # sums overflow to inf there; the FFTs stay finite below 1e30


def _cases() -> list[Case]:
    out = [
        Case("framer_prefill", "signal_framer", [((2, 320), I16)], [((2, 2, 400), I16), ((), BOOL)],
             {"frame_size": 400, "frame_step": 160, "prefill": True}),
        Case("framer_fill", "signal_framer", [((160,), I16)], [((1, 400), I16), ((), BOOL)],
             {"frame_size": 400, "frame_step": 160, "prefill": False}),
        Case("framer_hops", "signal_framer", [((3, 96), I16)], [((3, 3, 32), I16), ((), BOOL)],
             {"frame_size": 32, "frame_step": 32, "prefill": False}),
        Case("framer_ramp", "signal_framer", [((36,), I16)], [((3, 30), I16), ((), BOOL)],
             {"frame_size": 30, "frame_step": 12, "prefill": False}),
        Case("framer_short", "signal_framer", [((48,), I16)], [((3, 10), I16), ((), BOOL)],
             {"frame_size": 10, "frame_step": 16, "prefill": False}),
        Case("delay", "signal_delay", [((2, 64), I16)], [((2, 64), I16)], {"delay_length": 20}),
        Case("delay_long", "signal_delay", [((16,), I16)], [((16,), I16)], {"delay_length": 40}),
        Case("delay_zero", "signal_delay", [((8,), I16)], [((8,), I16)], {"delay_length": 0}),
        Case("stacker", "signal_stacker", [((40,), I16)], [((160,), I16), ((), BOOL)],
             {"num_channels": 40, "stacker_left_context": 3, "stacker_right_context": 0, "stacker_step": 1}),
        Case("stacker_right", "signal_stacker", [((8,), I16)], [((40,), I16), ((), BOOL)],
             {"num_channels": 8, "stacker_left_context": 2, "stacker_right_context": 2, "stacker_step": 2}),
        Case("stacker_jump", "signal_stacker", [((5,), I16)], [((15,), I16), ((), BOOL)],
             {"num_channels": 5, "stacker_left_context": 0, "stacker_right_context": 2, "stacker_step": 3}),
        Case("overlap_i16", "signal_overlap_add", [((2, 3, 64), I16)], [((2, 96), I16)],
             {"frame_step": 32, "dtype": I16}),
        Case("overlap_i16_hop", "signal_overlap_add", [((1, 16), I16)], [((16,), I16)],
             {"frame_step": 16, "dtype": I16}),
        Case("overlap_f32", "signal_overlap_add", [((4, 128), F32)], [((256,), F32)], {"frame_step": 64, "dtype": F32}),
        Case("overlap_f32_odd", "signal_overlap_add", [((2, 2, 8), F32)], [((2, 6), F32)],
             {"frame_step": 3, "dtype": F32}),
    ]
    for dtype in (I32, F32):
        for length, fft in ((480, 512), (64, 64), (7, 8), (3, 4)):
            out.append(Case(f"rfft_{dtype}_{length}_{fft}", "signal_rfft", [((length,), dtype)],
                            [((fft + 2,), dtype)], {"fft_length": fft, "dtype": dtype}))
        out.append(Case(f"rfft_{dtype}_rows", "signal_rfft", [((3, 30), dtype)], [((3, 34), dtype)],
                        {"fft_length": 32, "dtype": dtype}))
    for dtype in (I16, I32, F32):  # radix-3 and -5 stages: 60 = 2 * (2 * 3 * 5), 400 = 2 * (4 * 2 * 5 * 5)
        out += [Case(f"rfft_{dtype}_{length}_{fft}", "signal_rfft", [((length,), dtype)], [((fft + 2,), dtype)],
                     {"fft_length": fft, "dtype": dtype}) for length, fft in ((60, 60), (400, 400), (11, 12))]
        out += [Case(f"irfft_{dtype}_{fft}", "signal_irfft", [((fft + 2,), dtype)], [((fft,), dtype)],
                     {"fft_length": fft, "dtype": dtype}) for fft in (60, 400, 12)]
    for dtype in (I16, I32, F32):
        for bins, fft in ((514, 512), (20, 16), (6, 4)):
            out.append(Case(f"irfft_{dtype}_{bins}_{fft}", "signal_irfft", [((bins,), dtype)], [((fft,), dtype)],
                            {"fft_length": fft, "dtype": dtype}))
        out.append(Case(f"irfft_{dtype}_rows", "signal_irfft", [((2, 34), dtype)], [((2, 32), dtype)],
                        {"fft_length": 32, "dtype": dtype}))
    return out


CASES = _cases()
STATEFUL = {"signal_framer", "signal_delay", "signal_stacker", "signal_overlap_add"}


def float_input(shape: tuple[int, ...], n: int, rng: np.random.Generator, top: float) -> np.ndarray:
    """Signed values at every magnitude from subnormal to `top`, with zeros, -0.0 and all-extreme inputs."""
    exponent = rng.uniform(-45, np.log10(top), size=(n, *shape))
    x = np.sign(rng.standard_normal((n, *shape))) * 10.0 ** exponent
    x[0], x[1], x[2] = 0.0, top, -top
    x[3] = -0.0
    x[4] = rng.standard_normal(shape)
    return x.astype(np.float32)


def add_tones(x: np.ndarray, rng: np.random.Generator) -> None:
    """Rows 5..64 become full-scale square and cosine waves at random frequencies: the fixed-point FFTs' sums
    then overflow (and wrap as TFLM's C does) in the last stage."""
    info = np.iinfo(x.dtype)
    n = np.arange(x.shape[-1])
    for row in range(5, 65):
        wave = np.cos(2 * np.pi * rng.uniform(0, 0.5) * n + rng.uniform(0, np.pi))
        x[row] = np.where(wave >= 0, info.max, info.min) if row % 2 else np.round(wave * info.max)


def inputs_for(case: Case, graph: Graph, rng: np.random.Generator) -> list[np.ndarray]:
    xs = []
    for name in graph.inputs:
        t = graph.tensor(name)
        if t.dtype == F32:
            xs.append(float_input(t.shape, N, rng, FLOAT_MAX.get(case.op, 1e30)))
        else:
            xs.append(signal_input(t.dtype, t.shape, N, rng))
            if "fft" in case.op:
                add_tones(xs[-1], rng)
    return xs


def written(case: Case, n: int, sequence: bool) -> np.ndarray | None:
    """(n, frames) bool: the Framer frames TFLM writes on each of n invocations, simulated from its circular
    buffer's fill count; None for the other ops (the Stacker's output is compared where its flag is set)."""
    if case.op != "signal_framer":
        return None
    a = case.attrs
    size, hop = a["frame_size"], a["frame_step"]
    frames = case.inputs[0][0][-1] // hop
    start = size - hop if a["prefill"] else 0
    have, out = start, np.zeros((n, frames), dtype=bool)
    for i in range(n):
        if not sequence:
            have = start
        for f in range(frames):
            have += hop
            out[i, f] = have >= size
            if out[i, f]:
                have -= hop
    return out


def defined_bytes(case: Case, k: int, a: np.ndarray, want: list[np.ndarray], sequence: bool) -> np.ndarray:
    """Output k as (n, values) bytes, the values TFLM leaves unwritten zeroed (in tinyc's and TFLM's alike)."""
    n = len(a)
    a = a.reshape(n, -1).copy()
    if k == 0 and case.op == "signal_stacker":
        a[~want[1].reshape(n).astype(bool)] = 0
    mask = written(case, n, sequence)
    if k == 0 and mask is not None:
        a = a.reshape(n, -1, mask.shape[1], case.attrs["frame_size"])
        a[~np.broadcast_to(mask[:, None, :], a.shape[:3])] = 0
        a = a.reshape(n, -1)
    return np.ascontiguousarray(a).view(np.uint8).reshape(n, -1)


def compare(case: Case, graph: Graph, got: dict[str, np.ndarray], want: list[np.ndarray], sequence: bool) -> int:
    """Assert byte equality with TFLM; returns the number of output values compared."""
    count = 0
    for k, (name, w) in enumerate(zip(graph.outputs, want, strict=True)):
        g = got[name]
        assert g.dtype == w.dtype, f"{case.id}: {g.dtype} vs TFLM {w.dtype}"
        gb, wb = defined_bytes(case, k, g, want, sequence), defined_bytes(case, k, w, want, sequence)
        bad = np.flatnonzero(np.any(gb != wb, axis=1))
        assert bad.size == 0, f"{case.id} (sequence={sequence}): output '{name}' differs from TFLM on inputs {bad[:10]}"
        count += g.size
    return count


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list[tuple[Case, Graph, list[np.ndarray]]]:
    folder = tmp_path_factory.mktemp("signal_framing")
    done = []
    for k, case in enumerate(CASES):
        path = folder / f"{case.id}.tflite"
        write_tflite(case_graph(case), path)
        graph = load_model(path)
        xs = inputs_for(case, graph, np.random.default_rng(100 + k))
        plan = plan_memory(lower(graph))
        n_out = len(graph.outputs)
        compare(case, graph, run_plan(plan, xs), tflm_invoke(path, xs, n_out, False), False)
        if case.op in STATEFUL:
            assert any(step.state for step in plan.steps) or case.attrs.get("delay_length") == 0
            want = tflm_invoke(path, xs, n_out, True)
            compare(case, graph, run_sequence(plan, xs), want, True)
            if n_out == 2:  # the stream produces frames (so the comparison above saw some)
                assert want[1].any(), case.id
        done.append((case, graph, xs))
    return done


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) >= 50  # each compared byte for byte on N inputs inside `checked`
    assert {c.op for c, _, _ in checked} == STATEFUL | {"signal_rfft", "signal_irfft"}
    assert {(c.op, c.attrs.get("dtype")) for c, _, _ in checked if "fft" in c.op} == {
        (op, d) for op in ("signal_rfft", "signal_irfft") for d in (I16, I32, F32)}


def test_generated_c_equals_reference(checked, tmp_path) -> None:
    graph = merge([g for _, g, _ in checked], "framing")
    plan = plan_memory(lower(graph))
    xs = [x[:64] for _, _, case_xs in checked for x in case_xs]
    for sequence, want in ((False, run_plan(plan, xs)), (True, run_sequence(plan, xs))):
        got = host_outputs(plan, xs, tmp_path / str(sequence), sequence)
        for name, g in zip(graph.outputs, got, strict=True):
            assert g.tobytes() == want[name].tobytes(), (name, sequence)


def test_refusals() -> None:
    fr = {"frame_size": 10, "frame_step": 4, "prefill": False}
    st = {"num_channels": 4, "stacker_left_context": 1, "stacker_right_context": 1, "stacker_step": 1}
    bad = [
        (Case("fr_step", "signal_framer", [((10,), I16)], [((2, 10), I16), ((), BOOL)], fr), "multiple of"),
        (Case("fr_pre", "signal_framer", [((16,), I16)], [((1, 10), I16), ((), BOOL)],
              fr | {"frame_step": 16, "prefill": True}), "prefill needs"),
        (Case("fr_shape", "signal_framer", [((8,), I16)], [((2, 9), I16), ((), BOOL)], fr), "output 0 must have"),
        (Case("fr_valid", "signal_framer", [((8,), I16)], [((2, 10), I16), ((), I32)], fr), "int32 \\(tensor 'y1'\\)"),
        (Case("delay_neg", "signal_delay", [((8,), I16)], [((8,), I16)], {"delay_length": -1}), "outside"),
        (Case("st_step", "signal_stacker", [((4,), I16)], [((12,), I16), ((), BOOL)], st | {"stacker_step": 4}),
         "outside 1..3"),
        (Case("st_out", "signal_stacker", [((4,), I16)], [((8,), I16), ((), BOOL)], st), "3 frames"),
        (Case("oa_hop", "signal_overlap_add", [((2, 4), I16)], [((10,), I16)], {"frame_step": 5, "dtype": I16}),
         "longer than the frames"),
        (Case("oa_i32", "signal_overlap_add", [((2, 4), I32)], [((4,), I32)], {"frame_step": 2, "dtype": I32}),
         "int32 -> int32"),
        (Case("irfft_short", "signal_irfft", [((16,), I16)], [((16,), I16)], {"fft_length": 16, "dtype": I16}),
         "at least 9 complex"),
        (Case("irfft_out", "signal_irfft", [((18,), F32)], [((8,), F32)], {"fft_length": 16, "dtype": F32}),
         "fft_length 16 samples"),
        (Case("irfft_r7", "signal_irfft", [((16,), I32)], [((14,), I32)], {"fft_length": 14, "dtype": I32}),
         "radix-7"),
    ]
    for case, needle in bad:
        with pytest.raises((GraphError, UnsupportedDtypeError), match=needle):
            case_graph(case)
