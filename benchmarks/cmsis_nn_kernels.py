"""Each layer of the five MLPerf Tiny models, tinyc's kernel against CMSIS-NN's on the emulated Cortex-M4F: the
kernel-by-kernel check behind "no kernel slower than TFLM's counterpart" (TFLM's int8 CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, AVERAGE_POOL_2D, ADD and SOFTMAX are thin wrappers around these CMSIS-NN calls).

CMSIS-NN is not on PyPI or Debian and its code stays out of this repository: point --cmsis-nn at a checkout of
https://github.com/ARM-software/CMSIS-NN (its Include/ and Source/ folders). The script writes one bare-metal
program per model that calls, for every layer tinyc lowers to one of those kernels, the CMSIS-NN function TFLM
calls (the wrappers, so CMSIS-NN picks its own fastest path) between the instruction counter's two markers, on
that layer's input from the reference runtime run on a seeded random model input, and prints the output bytes.
Each layer's CMSIS-NN output must equal tinyc's reference runtime's (it checks the parameters are TFLM's); the
instructions are set against that layer's in tinyc's own per-layer count on the same board (``tinyc report``),
minus an empty marker pair. CMSIS-NN is built with the board's flags at -O2, as TFLM builds it.

    .venv/bin/python benchmarks/cmsis_nn_kernels.py --cmsis-nn ~/CMSIS-NN   # writes cmsis_nn_kernels.md
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinyc.bench.anchors import TFLM  # noqa: E402
from tinyc.bench.model import random_inputs  # noqa: E402
from tinyc.boards import load_board  # noqa: E402
from tinyc.codegen.cformat import c_initializer  # noqa: E402
from tinyc.lower import Step  # noqa: E402
from tinyc.pipeline import build_plan  # noqa: E402
from tinyc.report.build import report_for_model  # noqa: E402
from tinyc.runtime import run_plan  # noqa: E402
from tinyc.targets import build_program  # noqa: E402
from tinyc.targets.qemu import run_qemu  # noqa: E402

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
FILES = ["kws/kws_ref_model.tflite", "ic/pretrainedResnet_quant.tflite", "ad/ad01_int8.tflite",
         "vww/vww_96_int8.tflite", "sww/str_ww_ref_model.tflite"]
SCRATCH = 64 * 1024  # bytes of kernel buffer (ctx.buf); each layer checks its get_buffer_size against it


@dataclass
class Layer:
    name: str
    kernel: str  # tinyc's
    cmsis: str  # the CMSIS-NN function
    function: str  # the C function that runs it, in `code`
    code: str  # C: the layer's constants and that function, calling CMSIS-NN between the markers
    want: np.ndarray  # tinyc's reference runtime's output bytes


def _array(name: str, ctype: str, values: np.ndarray) -> str:
    return f"static const {ctype} {name}[{max(values.size, 1)}] = {{\n{c_initializer(values)}\n}};\n"


def _dims(n: int, h: int, w: int, c: int) -> str:
    return f"{{{n}, {h}, {w}, {c}}}"


def _window(p: dict, dilation: bool = True) -> str:
    """A conv / depthwise (`dilation`) or pool parameter struct's stride, padding, dilation and activation."""
    dil = f", .dilation = {{{p['dil_w']}, {p['dil_h']}}}" if dilation else ""
    return (f".stride = {{{p['stride_w']}, {p['stride_h']}}}, .padding = {{{p['pad_left']}, {p['pad_top']}}}{dil}, "
            f".activation = {{{p['act_min']}, {p['act_max']}}}")


def layer_code(i: int, step: Step, graph, x: list[np.ndarray]) -> tuple[str, str] | None:  # noqa: ANN001
    """The C of layer i (constants, then `static void layer_i(void)`), and the CMSIS-NN function it calls; None
    for a kernel without a CMSIS-NN counterpart here."""
    p = step.params
    node = next(n for n in graph.nodes if n.name == step.node)
    consts = [_array(f"x{i}", "int8_t", x[0])]
    if step.kernel in ("conv2d_s8", "conv2d_sparse_s8", "depthwise_conv2d_s8"):
        w = graph.tensor(node.inputs[1]).data
        bias = graph.tensor(node.inputs[2]).data if len(node.inputs) > 2 else np.zeros(p["out_c"], np.int32)
        consts += [_array(f"w{i}", "int8_t", w), _array(f"b{i}", "int32_t", bias),
                   _array(f"m{i}", "int32_t", step.consts["mult"]), _array(f"s{i}", "int32_t", step.consts["shift"])]
        ind = _dims(1, p["in_h"], p["in_w"], p["in_c"])
        outd = _dims(1, p["out_h"], p["out_w"], p["out_c"])
        common = f".input_offset = {-p['in_zp']}, .output_offset = {p['out_zp']}, {_window(p)}"
        if step.kernel == "depthwise_conv2d_s8":
            fn = "arm_depthwise_conv_wrapper_s8"
            params = f"cmsis_nn_dw_conv_params cp = {{{common}, .ch_mult = {p['depth_multiplier']}}};"
            fd = _dims(1, p["k_h"], p["k_w"], p["out_c"])
        else:
            fn = "arm_convolve_wrapper_s8"
            params = f"cmsis_nn_conv_params cp = {{{common}}};"
            fd = _dims(p["out_c"], p["k_h"], p["k_w"], p["in_c"])
        body = f"""    {params}
    cmsis_nn_per_channel_quant_params qp = {{(int32_t *)m{i}, (int32_t *)s{i}}};
    cmsis_nn_dims in = {ind}, fd = {fd}, bd = {_dims(1, 1, 1, p["out_c"])}, od = {outd};
    ctx.size = {fn}_get_buffer_size(&cp, &in, &fd, &od);
    need(ctx.size);
    tinyc_marker_begin();
    status = {fn}(&ctx, &cp, &qp, &in, x{i}, &fd, w{i}, &bd, b{i}, &od, out);
    tinyc_marker_end();
"""
    elif step.kernel == "fully_connected_s8":
        mult, shift = step.consts["mult"], step.consts["shift"]
        if len(set(mult.tolist())) > 1 or len(set(shift.tolist())) > 1:
            return None  # per-channel: TFLM's FULLY_CONNECTED has no CMSIS-NN per-channel path in its pinned version
        w = graph.tensor(node.inputs[1]).data
        bias = graph.tensor(node.inputs[2]).data if len(node.inputs) > 2 else np.zeros(p["units"], np.int32)
        consts += [_array(f"w{i}", "int8_t", w), _array(f"b{i}", "int32_t", bias)]
        fn = "arm_fully_connected_s8"
        body = f"""    cmsis_nn_fc_params fp = {{.input_offset = {-p['in_zp']}, .filter_offset = 0,
                              .output_offset = {p['out_zp']}, .activation = {{{p['act_min']}, {p['act_max']}}}}};
    cmsis_nn_per_tensor_quant_params qp = {{{int(mult[0])}, {int(shift[0])}}};
    cmsis_nn_dims in = {_dims(p["rows"], 1, 1, p["depth"])}, fd = {_dims(p["depth"], 1, 1, p["units"])};
    cmsis_nn_dims bd = {_dims(1, 1, 1, p["units"])}, od = {_dims(p["rows"], 1, 1, p["units"])};
    ctx.size = arm_fully_connected_s8_get_buffer_size(&fd);
    need(ctx.size);
    tinyc_marker_begin();
    status = arm_fully_connected_s8(&ctx, &fp, &qp, &in, x{i}, &fd, w{i}, &bd, b{i}, &od, out);
    tinyc_marker_end();
"""
    elif step.kernel == "avg_pool2d_s8" and not any(p[k] for k in ("pad_top", "pad_left", "pad_bottom", "pad_right")):
        fn = "arm_avgpool_s8"
        body = f"""    cmsis_nn_pool_params pp = {{{_window(p, dilation=False)}}};
    cmsis_nn_dims in = {_dims(1, p["in_h"], p["in_w"], p["in_c"])}, fd = {_dims(1, p["k_h"], p["k_w"], 1)};
    cmsis_nn_dims od = {_dims(1, p["out_h"], p["out_w"], p["out_c"])};
    ctx.size = arm_avgpool_s8_get_buffer_size({p["out_w"]}, {p["in_c"]});
    need(ctx.size);
    tinyc_marker_begin();
    status = arm_avgpool_s8(&ctx, &pp, &in, x{i}, &fd, &od, out);
    tinyc_marker_end();
"""
    elif step.kernel == "add_s8" and x[1].shape == x[0].shape:
        fn = "arm_elementwise_add_s8"
        consts.append(_array(f"y{i}", "int8_t", x[1]))
        body = f"""    tinyc_marker_begin();
    status = arm_elementwise_add_s8(x{i}, y{i}, {-p['a_zp']}, {p['a_mult']}, {p['a_shift']}, {-p['b_zp']},
                                    {p['b_mult']}, {p['b_shift']}, 20, out, {p['out_zp']}, {p['out_mult']},
                                    {p['out_shift']}, {p['act_min']}, {p['act_max']}, {p['size']});
    tinyc_marker_end();
"""
    elif step.kernel == "softmax_s8" and p.get("out_bits") == 8:
        fn = "arm_softmax_s8"
        body = f"""    tinyc_marker_begin();
    arm_softmax_s8(x{i}, {p['rows']}, {p['depth']}, {p['input_multiplier']}, {p['input_left_shift']},
                   {p['diff_min']}, out);
    tinyc_marker_end();
    status = ARM_CMSIS_NN_SUCCESS;
"""
    else:
        return None
    out_size = int(np.prod(step_out_shape(step)))
    fn_code = f"""static void layer_{i}(void)
{{
    cmsis_nn_context ctx = {{scratch, 0}};
    arm_cmsis_nn_status status;
{body}    check(status);
    dump({out_size});
}}
"""
    return "".join(consts) + fn_code, fn


def step_out_shape(step: Step) -> tuple[int, ...]:
    p = step.params
    if "out_c" in p:
        return (p["out_h"], p["out_w"], p["out_c"])
    if "units" in p:
        return (p["rows"], p["units"])
    if "size" in p:
        return (p["size"],)
    return (p["rows"], p["depth"])


PRELUDE = f"""#include <stdint.h>
#include <string.h>
#include "arm_nnfunctions.h"
#include "harness.h"

static int8_t scratch[{SCRATCH}];
static int8_t out[64 * 1024];

__attribute__((noipa, used)) void tinyc_marker_begin(void) {{ __asm__ volatile("" ::: "memory"); }}
__attribute__((noipa, used)) void tinyc_marker_end(void) {{ __asm__ volatile("" ::: "memory"); }}

static void need(int32_t bytes)
{{
    if (bytes > (int32_t)sizeof(scratch)) {{
        tinyc_puts("scratch too small\\n");
        tinyc_exit(1);
    }}
}}

static void check(arm_cmsis_nn_status status)
{{
    if (status != ARM_CMSIS_NN_SUCCESS) {{
        tinyc_puts("CMSIS-NN error\\n");
        tinyc_exit(1);
    }}
}}

/* the first n output bytes as one line of hex */
static void dump(int32_t n)
{{
    static const char hex[] = "0123456789abcdef";
    char line[129];
    int32_t i = 0;
    while (i < n) {{
        int32_t k = 0;
        for (; k < 128 && i < n; k += 2, ++i) {{
            line[k] = hex[(uint8_t)out[i] >> 4];
            line[k + 1] = hex[(uint8_t)out[i] & 15];
        }}
        line[k] = 0;
        tinyc_puts(line);
    }}
    tinyc_puts("\\n");
}}
"""

def cmsis_sources(cmsis_nn: Path) -> list[Path]:
    """CMSIS-NN's int8 sources (the linker keeps what the calls reach)."""
    return [f for f in sorted((cmsis_nn / "Source").rglob("*.c")) if "_s8" in f.stem or "_q7" in f.stem]


def model_layers(model: Path, seed: int) -> list[Layer]:
    """The model's layers with a CMSIS-NN counterpart, each on its input from one seeded random model input."""
    plan = build_plan(model)
    graph = plan.graph
    x = random_inputs(graph.tensor(graph.inputs[0]), 1, seed)[1:]
    values = run_plan(plan, [x], keep_all=True)
    layers = []
    for i, step in enumerate(plan.steps):
        made = layer_code(i, step, graph, [values[n][0] for n in step.inputs])
        if made:
            layers.append(Layer(step.node, step.kernel, made[1], f"layer_{i}", made[0], values[step.outputs[0]][0]))
    return layers


def program(layers: list[Layer]) -> str:
    calls = "".join(f"    {layer.function}();\n" for layer in layers)
    return (PRELUDE + "".join(layer.code for layer in layers)
            + f"\nint main(void)\n{{\n    tinyc_marker_begin();\n    tinyc_marker_end();\n{calls}    return 0;\n}}\n")


def measure(model: Path, cmsis_nn: Path, board_id: str, seed: int) -> list[dict]:
    """Per layer: CMSIS-NN's instructions and whether its bytes equal the reference runtime's, and tinyc's."""
    board = load_board(board_id)
    layers = model_layers(model, seed)
    with tempfile.TemporaryDirectory(prefix="tinyc-cmsis-nn-") as tmp:
        main_c = Path(tmp) / "cmsis_nn_layers.c"
        main_c.write_text(program(layers))
        elf = build_program(board, cmsis_sources(cmsis_nn), Path(tmp) / "cmsis_nn_layers.elf",
                            harness_sources=[main_c], includes=[cmsis_nn / "Include"],
                            cflags=["-Wno-error", "-w"], weights_region="TESTDATA")
        run = run_qemu(board, elf, timeout=900)
    if run.exit_code != 0 or len(run.instructions) != len(layers) + 1:
        raise SystemExit(f"{model.name}: the CMSIS-NN program failed (exit {run.exit_code}): {run.output[-300:]}")
    empty, counts = run.instructions[0], run.instructions[1:]
    lines = run.output.split("\n")
    tinyc = {layer.name: layer for layer in report_for_model(model, board_id).layers}
    rows = []
    for layer, count, line in zip(layers, counts, lines, strict=False):
        got = np.frombuffer(bytes.fromhex(line), np.int8)
        mine = tinyc[layer.name]
        rows.append({"layer": layer.name, "kernel": layer.kernel, "cmsis": layer.cmsis, "macs": mine.macs,
                     "cmsis_instructions": count - empty, "tinyc_instructions": mine.instructions,
                     "equal": bool(np.array_equal(got, layer.want.reshape(-1)))})
    return rows


def markdown(results: dict[str, list[dict]], board_id: str, cmsis_nn: str) -> str:
    out = [
        "# tinyc's kernels against CMSIS-NN's, layer by layer",
        "",
        f"Written by `benchmarks/cmsis_nn_kernels.py` (board {board_id}, CMSIS-NN {cmsis_nn}, -O2 with the board's "
        "flags). For every layer of the five MLPerf Tiny models that TFLM runs through CMSIS-NN: the instructions "
        "of the CMSIS-NN call TFLM makes (the wrapper, on the layer's input from a seeded random model input, minus "
        "an empty marker pair) and of tinyc's kernel for that layer in the whole compiled model (`tinyc report`). "
        "`equal`: CMSIS-NN's output bytes are the reference runtime's for that layer. TFLM's own per-op cost "
        "(about 37 instructions) is not in the CMSIS-NN figure, so the comparison is stricter than against TFLM.",
        "",
        "| model | layer | tinyc kernel | CMSIS-NN function | MACs | CMSIS-NN instr | tinyc instr | tinyc / CMSIS-NN "
        "| equal |",
        "|---|---|---|---|---:|---:|---:|---:|---|",
    ]
    worst = []
    for model, rows in results.items():
        for r in rows:
            ratio = r["tinyc_instructions"] / r["cmsis_instructions"]
            worst.append((ratio, model, r["layer"]))
            out.append(f"| {model} | {r['layer']} | {r['kernel']} | {r['cmsis']} | {r['macs']:,} | "
                       f"{r['cmsis_instructions']:,} | {r['tinyc_instructions']:,} | {ratio:.2f} | "
                       f"{'yes' if r['equal'] else '**no**'} |")
    out += ["", "Summed per CMSIS-NN function:", "", "| CMSIS-NN function | layers | CMSIS-NN instr | tinyc instr | "
            "tinyc / CMSIS-NN | CMSIS-NN instr / MAC | tinyc instr / MAC |", "|---|---:|---:|---:|---:|---:|---:|"]
    by_fn: dict[str, list[dict]] = {}
    for rows in results.values():
        for r in rows:
            by_fn.setdefault(r["cmsis"], []).append(r)
    for fn, rows in sorted(by_fn.items()):
        c, t, m = (sum(r[k] for r in rows) for k in ("cmsis_instructions", "tinyc_instructions", "macs"))
        per_c, per_t = (f"{n / m:.2f}" if m else "-" for n in (c, t))
        out.append(f"| {fn} | {len(rows)} | {c:,} | {t:,} | {t / c:.2f} | {per_c} | {per_t} |")
    out += ["", "The CMSIS-NN build against the one ANCHORS.md measured (TFLM's pinned CMSIS-NN), per model: its calls "
            "summed over the layers above beside TFLM's whole inference (all ops, its interpreter, all-zero input):",
            "", "| model | layers | CMSIS-NN calls summed | TFLM + CMSIS-NN inference (ANCHORS.md) | ratio |",
            "|---|---:|---:|---:|---:|"]
    for model, rows in results.items():
        total, anchor = sum(r["cmsis_instructions"] for r in rows), TFLM[(model, "cortex-m4f")].instructions
        out.append(f"| {model} | {len(rows)} | {total:,} | {anchor:,} | {total / anchor:.2f} |")
    ratio, model, layer = max(worst)
    n_equal = sum(r["equal"] for rows in results.values() for r in rows)
    out += ["", f"{len(worst)} layers; CMSIS-NN's bytes equal the reference runtime's on {n_equal}. Slowest tinyc "
            f"layer relative to CMSIS-NN: {model} `{layer}`, {ratio:.2f}x.", ""]
    return "\n".join(out)


@click.command()
@click.option("--cmsis-nn", "cmsis_nn", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="a CMSIS-NN checkout (with Include/ and Source/)")
@click.option("--version", "version", default="(version not given)", help="the CMSIS-NN version, for the table")
@click.option("--board", default="nucleo-l4r5zi", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--markdown", "md_path", type=click.Path(path_type=Path),
              default=Path(__file__).with_name("cmsis_nn_kernels.md"))
def main(cmsis_nn: Path, version: str, board: str, seed: int, md_path: Path) -> None:
    if not MODELS.is_dir():
        raise SystemExit(f"{MODELS} is missing: the MLPerf Tiny models come with ../shared")
    results = {}
    for name in FILES:
        click.echo(f"{name} ...", err=True)
        results[Path(name).stem] = measure(MODELS / name, cmsis_nn, board, seed)
    md_path.write_text(markdown(results, board, version))
    click.echo(f"wrote {md_path}")


if __name__ == "__main__":
    main()
