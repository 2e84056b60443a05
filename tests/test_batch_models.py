"""Graphs whose own batch dimension is above 1 (IR shape (N > 1, ...), N = 2 and 3): a single-op .tflite per op,
dtype and variant, written by tinyc's exporter and read back by its frontend. The reference runtime equals TFLM
byte for byte on N_INPUTS random inputs per case (full TFLite's reference kernels for the hybrid conv, which TFLM
refuses; float softmax, logistic and exp, computed with tinyc's own expf, are checked in the C only). The
generated C of all cases, merged into one library and built under ASan/UBSan (plain C with gcc and clang, the DSP
and Helium paths emulated on the host), equals the reference runtime: every image of the batch is computed, not
only the first. Kernels written for one image loop over the images only when the graph has several, so batch-1
code (and its instruction counts) stays as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.single_op import Case, case_graph, merge, random_input, tflm_run, window
from tests.test_codegen import SANITIZE, build, generate_into, run_exe
from tinyc.codegen.kernels import KernelSet
from tinyc.codegen.render import environment
from tinyc.export import write_tflite
from tinyc.frontends import load_model
from tinyc.ir import Graph, Node, Quant, Tensor
from tinyc.lower import lower
from tinyc.memory import plan_memory
from tinyc.runtime import run_plan

pytest.importorskip("tflite_micro.python.tflite_micro.runtime")

N_INPUTS = 100  # random inputs per case
S_IN, ZP_IN = 0.05, -3


def q(scale: float | np.ndarray, zp: int = 0, axis: int | None = None) -> Quant:
    s = np.atleast_1d(np.asarray(scale, np.float32))
    return Quant(s, np.full(s.size, zp, np.int32), axis)


def weighted(cid: str, op: str, dtype: str, x: tuple, w_shape: tuple, *, stride=(1, 1), dilation=(1, 1),
             same=False, act="none", dm=1, sparsity=0.0, seed=0) -> Graph:
    """One conv2d / depthwise_conv2d / fully_connected node: int8 (per-channel weights; `sparsity` zeros for the
    sparse kernels), float32, or "hybrid" (float32 activations, int8 per-tensor weights)."""
    rng = np.random.default_rng(seed)
    axis = {"conv2d": 0, "fully_connected": 0, "depthwise_conv2d": 3}[op]
    n_out, depth = w_shape[axis], int(np.prod(w_shape)) // w_shape[axis]
    g = Graph(cid, source=f"{cid} (single-op test)")
    if dtype == "float32":
        w = rng.standard_normal(w_shape).astype(np.float32)
        g.add_tensor(Tensor("x", x, "float32"))
        g.add_tensor(Tensor("w", w_shape, "float32", None, w))
        g.add_tensor(Tensor("b", (n_out,), "float32", None, rng.standard_normal(n_out).astype(np.float32)))
    else:
        w = rng.integers(-127, 128, w_shape).astype(np.int8)
        w[rng.random(w_shape) < sparsity] = 0
        per_channel = dtype == "int8"
        ws = rng.uniform(0.004, 0.02, n_out if per_channel else 1).astype(np.float32)
        g.add_tensor(Tensor("w", w_shape, "int8", q(ws, 0, axis if per_channel else None), w))
        if dtype == "int8":
            g.add_tensor(Tensor("x", x, "int8", q(S_IN, ZP_IN)))
            g.add_tensor(Tensor("b", (n_out,), "int32", q(np.float32(S_IN) * ws, 0, 0),
                                rng.integers(-3000, 3000, n_out).astype(np.int32)))
        else:
            g.add_tensor(Tensor("x", x, "float32"))
            g.add_tensor(Tensor("b", (n_out,), "float32", None, rng.standard_normal(n_out).astype(np.float32)))
    attrs: dict = {"activation": act}
    if op == "fully_connected":
        y = (*x[:-1], n_out)
    else:
        pads, oh, ow = window(x, w_shape[1:3], stride, dilation, same)
        y = (x[0], oh, ow, n_out)
        attrs |= {"stride": stride, "dilation": dilation, "pads": pads}
        if op == "depthwise_conv2d":
            attrs["depth_multiplier"] = dm
    s_out = S_IN * 0.01 * np.sqrt(depth) * 128 / (1 if op != "depthwise_conv2d" else 1.5)
    g.add_tensor(Tensor("y", y, dtype if dtype != "hybrid" else "float32", q(s_out, 4) if dtype == "int8" else None))
    g.nodes.append(Node(op, f"{op}_0", ["x", "w", "b"], ["y"], attrs))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def litert_reference(path: Path, inputs: list[np.ndarray], n_out: int) -> list[np.ndarray]:
    """Full TFLite with its reference kernels (BUILTIN_REF: the hybrid conv's float32 steps in TFLite's order)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    ins, outs = interp.get_input_details(), interp.get_output_details()
    got: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    for i in range(len(inputs[0])):
        for d, x in zip(ins, inputs, strict=True):
            interp.set_tensor(d["index"], x[i])
        interp.invoke()
        for k in range(n_out):
            got[k].append(interp.get_tensor(outs[k]["index"]).copy())
    return [np.stack(o) for o in got]


def pool(cid: str, op: str, dtype: str, x: tuple, k: tuple, stride: tuple, same: bool, act: str = "none") -> Graph:
    pads, oh, ow = window(x, k, stride, same=same)
    return single(Case(cid, op, [(x, dtype)], [((x[0], oh, ow, x[3]), dtype)],
                       {"kernel": k, "stride": stride, "pads": pads, "activation": act}))


def single(case: Case) -> Graph:
    g = case_graph(case)
    g.name = case.id
    return g


INEXACT = ("softmax", "logistic")  # float32: tinyc's own expf, not libm's (their own tests bound the distance)


def _cases() -> list[tuple[Graph, str]]:
    out: list[tuple[Graph, str]] = []
    for n in (2, 3):
        for t in ("int8", "float32"):
            out += [(g, "" if t == "float32" and g.nodes[0].op in INEXACT else "tflm") for g in (
                weighted(f"conv_1x1_{t}_{n}", "conv2d", t, (n, 4, 5, 8), (6, 1, 1, 8), seed=n),
                weighted(f"conv_3x3_same_{t}_{n}", "conv2d", t, (n, 5, 6, 4), (5, 3, 3, 4), same=True, act="relu",
                         seed=n + 1),
                weighted(f"conv_odd_s2_dil_{t}_{n}", "conv2d", t, (n, 7, 7, 3), (3, 2, 3, 3), stride=(2, 1),
                         dilation=(1, 2), seed=n + 2),
                weighted(f"dw_same_{t}_{n}", "depthwise_conv2d", t, (n, 5, 6, 4), (1, 3, 3, 4), same=True,
                         act="relu6", seed=n + 3),
                weighted(f"dw_dm2_s2_{t}_{n}", "depthwise_conv2d", t, (n, 7, 6, 3), (1, 3, 3, 6), dm=2,
                         stride=(2, 2), seed=n + 4),
                weighted(f"dw_valid_{t}_{n}", "depthwise_conv2d", t, (n, 4, 5, 8), (1, 2, 2, 8), seed=n + 5),
                weighted(f"fc_rows_{t}_{n}", "fully_connected", t, (n, 12), (5, 12), seed=n + 6),
                weighted(f"fc_keep_{t}_{n}", "fully_connected", t, (n, 3, 12), (5, 12), seed=n + 7),
                pool(f"avg_same_{t}_{n}", "avg_pool2d", t, (n, 5, 7, 3), (3, 3), (2, 2), True),
                pool(f"avg_global_{t}_{n}", "avg_pool2d", t, (n, 4, 4, 8), (4, 4), (1, 1), False, "relu"),
                pool(f"max_same_{t}_{n}", "max_pool2d", t, (n, 6, 5, 3), (2, 3), (2, 1), True),
                pool(f"max_valid_{t}_{n}", "max_pool2d", t, (n, 4, 6, 5), (2, 2), (2, 2), False, "relu6"),
                single(Case(f"softmax_{t}_{n}", "softmax", [((n, 7), t)], [((n, 7), t)], {"beta": 1.0},
                            quant_out=(1 / 256, -128))),
                single(Case(f"softmax_4d_{t}_{n}", "softmax", [((n, 2, 3, 5), t)], [((n, 2, 3, 5), t)],
                            {"beta": 1.0}, quant_out=(1 / 256, -128))),
                single(Case(f"transpose_{t}_{n}", "transpose", [((n, 3, 4, 2), t)], [((n, 4, 3, 2), t)],
                            {"perm": (0, 2, 1, 3)})),
                single(Case(f"transpose_batch_{t}_{n}", "transpose", [((n, 3, 4), t)], [((4, n, 3), t)],
                            {"perm": (2, 0, 1)})),
                single(Case(f"add_{t}_{n}", "add", [((n, 3, 4, 2), t), ((n, 3, 4, 2), t)], [((n, 3, 4, 2), t)],
                            {"activation": "relu"}, quant_out=(0.08, 2))),
                single(Case(f"add_broadcast_{t}_{n}", "add", [((n, 3, 1, 2), t), ((1, 3, 4, 2), t)],
                            [((n, 3, 4, 2), t)], quant_out=(0.08, 2))),
                single(Case(f"relu_{t}_{n}", "relu", [((n, 3, 5), t)], [((n, 3, 5), t)], {"activation": "relu"})),
                single(Case(f"relu6_{t}_{n}", "relu", [((n, 3, 5), t)], [((n, 3, 5), t)],
                            {"activation": "relu6"})),
                single(Case(f"logistic_{t}_{n}", "logistic", [((n, 2, 5), t)], [((n, 2, 5), t)],
                            quant_out=(1 / 256, -128))),
                single(Case(f"mean_hw_{t}_{n}", "mean", [((n, 4, 5, 3), t)], [((n, 1, 1, 3), t)],
                            {"axes": (1, 2), "keep_dims": True})),
                single(Case(f"concat_{t}_{n}", "concatenation", [((n, 2, 3, 2), t), ((n, 2, 3, 1), t)],
                            [((n, 2, 3, 3), t)], {"axis": 3})),
                single(Case(f"pad_{t}_{n}", "pad", [((n, 3, 2, 2), t)], [((n, 4, 5, 2), t)],
                            {"pads": ((0, 0), (1, 0), (1, 2), (0, 0))})),
                single(Case(f"resize_{t}_{n}", "resize_nearest_neighbor", [((n, 2, 3, 2), t)], [((n, 4, 6, 2), t)],
                            {"size": (4, 6), "align_corners": False, "half_pixel_centers": False})),
                single(Case(f"depth_to_space_{t}_{n}", "depth_to_space", [((n, 2, 2, 8), t)], [((n, 4, 4, 2), t)],
                            {"block_size": 2})),
                single(Case(f"mul_{t}_{n}", "mul", [((n, 3, 4), t), ((n, 3, 4), t)], [((n, 3, 4), t)],
                            quant_out=(0.2, 1))),
                single(Case(f"resize_bilinear_{t}_{n}", "resize_bilinear", [((n, 3, 2, 2), t)], [((n, 5, 4, 2), t)],
                            {"size": (5, 4), "align_corners": False, "half_pixel_centers": True})),
                single(Case(f"slice_{t}_{n}", "slice", [((n, 4, 5), t)], [((n, 2, 3), t)],
                            {"begin": (0, 1, 1), "size": (-1, 2, 3)})),
                single(Case(f"gather_{t}_{n}", "gather", [((n, 5, 3), t), np.array([4, 0, 2], np.int32)],
                            [((n, 3, 3), t)], {"axis": 1})),
                single(Case(f"split_{t}_{n}", "split", [((n, 2, 6), t)], [((n, 2, 3), t)] * 2, {"axis": 2})),
                single(Case(f"reduce_max_{t}_{n}", "reduce_max", [((n, 4, 3), t)], [((n, 3), t)],
                            {"axes": (1,), "keep_dims": False})),
            )]
        out += [
            (weighted(f"conv_sparse_3x3_{n}", "conv2d", "int8", (n, 5, 5, 8), (6, 3, 3, 8), same=True,
                      sparsity=0.8, seed=n + 8), "tflm"),
            (weighted(f"conv_sparse_1x1_{n}", "conv2d", "int8", (n, 3, 4, 16), (8, 1, 1, 16), sparsity=0.8,
                      seed=n + 9), "tflm"),
            (weighted(f"fc_sparse_{n}", "fully_connected", "int8", (n, 32), (8, 32), sparsity=0.8, seed=n + 10),
             "tflm"),
            (weighted(f"conv_hybrid_{n}", "conv2d", "hybrid", (n, 5, 4, 3), (4, 3, 3, 3), same=True, seed=n + 11),
             "litert"),
            (single(Case(f"l2_pool_{n}", "l2_pool2d", [((n, 4, 4, 3), "float32")], [((n, 2, 2, 3), "float32")],
                         {"kernel": (2, 2), "stride": (2, 2), "pads": (0, 0, 0, 0), "activation": "none"})), "tflm"),
            (single(Case(f"quantize_{n}", "quantize", [((n, 3, 4), "float32")], [((n, 3, 4), "int8")])), "tflm"),
            (single(Case(f"dequantize_{n}", "dequantize", [((n, 3, 4), "int8")], [((n, 3, 4), "float32")])), "tflm"),
            (single(Case(f"argmax_{n}", "arg_max", [((n, 4, 5), "int8")], [((n, 5), "int32")], {"axis": 1})),
             "tflm"),
            (single(Case(f"requantize_{n}", "quantize", [((n, 3, 4), "int8")], [((n, 3, 4), "int8")],
                         quant_out=(0.03, 5))), "tflm"),
            (single(Case(f"cast_{n}", "cast", [((n, 3, 4), "int8")], [((n, 3, 4), "float32")])), "tflm"),
            (single(Case(f"hard_swish_{n}", "hard_swish", [((n, 3, 4), "int8")], [((n, 3, 4), "int8")],
                         quant_out=(0.03, -20))), "tflm"),
            (single(Case(f"exp_{n}", "exp", [((n, 3, 4), "float32")], [((n, 3, 4), "float32")])), ""),
        ]
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> list[Graph]:
    folder: Path = tmp_path_factory.mktemp("batch")
    graphs = []
    for k, (g, engine) in enumerate(CASES):
        path = folder / f"{g.name}.tflite"
        write_tflite(g, path)
        graph = load_model(path)
        assert graph.tensor(graph.inputs[0]).shape[0] in (2, 3), g.name
        rng = np.random.default_rng(100 + k)
        xs = [random_input(graph.tensor(name), N_INPUTS, rng) for name in graph.inputs]
        got = run_plan(plan_memory(lower(graph)), xs)
        graphs.append(graph)
        if not engine:
            continue
        wants = (litert_reference if engine == "litert" else tflm_run)(path, xs, len(graph.outputs))
        for name, want in zip(graph.outputs, wants, strict=True):
            assert got[name].dtype == want.dtype and got[name].size == want.size, g.name
            g8, w8 = (np.ascontiguousarray(a).reshape(N_INPUTS, -1).view(np.uint8) for a in (got[name], want))
            bad = np.flatnonzero(np.any(g8 != w8, axis=1))
            assert bad.size == 0, f"{g.name}: output '{name}' differs from {engine} on inputs {bad[:10]}"
            per_image = want.reshape(N_INPUTS, graph.tensor(name).shape[0], -1)[:, -1]
            assert np.unique(per_image).size > 1, f"{g.name}: the last image's output is constant"
    return graphs


def test_reference_equals_tflm(checked) -> None:
    assert len(checked) == len(CASES) == 152  # compared byte for byte on N_INPUTS inputs in the fixture
    assert sum(1 for _, engine in CASES if engine) == 144


@pytest.fixture(scope="module")
def merged(checked, tmp_path_factory):
    graph = merge(checked, "batch")
    plan = plan_memory(lower(graph))
    rng = np.random.default_rng(11)
    xs = [random_input(graph.tensor(n), 32, rng) for n in graph.inputs]
    return generate_into(plan, tmp_path_factory.mktemp("batch_c"), "batch"), xs, run_plan(plan, xs)


@pytest.mark.parametrize("path", ["c", "simd32", "mve", "clang"])
def test_generated_c_equals_reference(checked, merged, path: str) -> None:
    """Every kernel path of the library (plain C, the DSP and Helium paths emulated on the host), under
    ASan/UBSan; plain C with clang too. All but the first at -O0, which compiles the emulation several times
    faster with the sanitizers."""
    gen, xs, want = merged
    flags = SANITIZE if path == "c" else [f for f in SANITIZE if f != "-O1"] + ["-O0"]
    flags += [f"-DTINYC_EMULATE_{path.upper()}"] if path in ("simd32", "mve") else []
    exe = build(gen, "clang" if path == "clang" else "gcc", flags, path)
    graph = gen.plan.graph
    case_of = {f"g{k}_{o}": g.name for k, g in enumerate(checked) for o in g.outputs}  # merge()'s names
    bad = [case_of[name] for name, got in zip(graph.outputs, run_exe(exe, graph, xs), strict=True)
           if got.tobytes() != want[name].tobytes()]
    assert not bad, f"{len(bad)} of {len(graph.outputs)} outputs differ from the reference: {bad}"


def one_image(graph: Graph) -> Graph:
    """The graph with batch 1: every activation's leading dimension set to 1."""
    one = Graph(graph.name, source=graph.source)
    for t in graph.tensors.values():
        one.add_tensor(Tensor(t.name, t.shape if t.is_const else (1, *t.shape[1:]), t.dtype, t.quant, t.data))
    one.nodes, one.inputs, one.outputs = list(graph.nodes), list(graph.inputs), list(graph.outputs)
    one.verify()
    return one


def test_batch_one_has_no_batch_loop(checked) -> None:
    """The same ops with one image: their C has no batch loop (the code and instruction counts of batch-1
    models, e.g. benchmarks/baseline.json's, stay as they were); with several images the looping kernels have one."""
    looping = {"conv2d_s8", "conv2d_sparse_s8", "conv2d_f32", "conv2d_hybrid", "depthwise_conv2d_s8",
               "depthwise_conv2d_f32", "avg_pool2d_s8", "avg_pool2d_f32", "max_pool2d_s8", "max_pool2d_f32"}
    seen: dict[str, list[bool]] = {}
    for graph in checked:
        if graph.name.startswith(("transpose_batch", "argmax")):  # the batch is not the leading axis throughout
            continue
        for g, several in ((graph, True), (one_image(graph), False)):
            plan = plan_memory(lower(g))
            kernels = KernelSet(environment(), plan)
            for step in plan.steps:
                if step.kernel in looping:
                    kernels.function_for(step)
                    seen.setdefault(step.kernel, []).append(("tinyc_b" in kernels.sources[-1]) == several)
    assert set(seen) == looping and all(all(v) for v in seen.values()), seen
