"""The `tinyc` command line."""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import click

from tinyc.errors import TinycError, one_line
from tinyc.options import NO_LM_PATCH, OPTIMIZE, PATCH


class _Group(click.Group):
    """Turns every TinycError (and unreadable files) into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            with quiet(not ctx.params.get("verbose")):
                return super().invoke(ctx)
        except click.UsageError as exc:  # a bad option value (NaN, out of range ...): one line too
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"tinyc: error: {one_line(exc.format_message())}{hint}", err=True)
            sys.exit(2)
        except TinycError as exc:
            click.echo(f"tinyc: error: {one_line(str(exc))}", err=True)
            sys.exit(2)
        except BrokenPipeError:  # the reader went away (`tinyc ops | head`): nothing left to say
            sys.stderr.close()
            sys.exit(0)
        except OSError as exc:
            message = f"{exc.filename or ''}: {exc.strerror or exc}"
            click.echo(f"tinyc: error: {one_line(message)}", err=True)
            sys.exit(2)


@contextlib.contextmanager
def quiet(silent: bool = True) -> Iterator[None]:
    """Python warnings (NumPy, ONNX) and NumPy floating-point warnings are not shown unless asked for (-v)."""
    import numpy as np

    if not silent:
        yield
        return
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


@click.group(cls=_Group)
@click.version_option(package_name="tinyc")
@click.option("-v", "--verbose", is_flag=True, help="Show Python and NumPy warnings.")
def main(verbose: bool) -> None:
    """Compile small neural networks to fast, heap-free, bit-exact C for microcontrollers."""


MODEL = click.argument("model", type=click.Path(dir_okay=False, path_type=Path))


@main.command()
@MODEL
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def inspect(model: Path, as_json: bool) -> None:
    """Show each node: op, shapes, dtypes, quantization, MACs and parameter bytes (llama2.c checkpoints:
    dimensions, layers, weights and the generated C's memory)."""
    from tinyc.frontends import load_model
    from tinyc.inspect import render_table, summarize
    from tinyc.llm.library import is_checkpoint

    if is_checkpoint(model):
        from tinyc.llm.inspect import render_checkpoint, summarize_checkpoint

        summary = summarize_checkpoint(model)
        click.echo(json.dumps(summary, indent=1) if as_json else render_checkpoint(summary))
        return

    summary = summarize(load_model(model))
    click.echo(json.dumps(summary, indent=1) if as_json else render_table(summary))


@main.command()
@MODEL
@click.option("-i", "--input", "input_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="IN.npy: one input of the model's shape and dtype, or N inputs stacked on a new leading axis "
                   "(several inputs: IN.npz with arrays input0, input1, ...).")
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="OUT.npy: the outputs, in the same form and in the model's output dtype; OUT.npz: arrays "
                   "output0, output1, ... in the model's order and output_names (needed for several outputs).")
@click.option("--target", default="ref", show_default=True,
              help="ref (reference runtime), host (generated C on this machine) or a board id (QEMU).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a JSON report (board targets: instructions, flash, RAM).")
@click.option("--float-io", is_flag=True,
              help="Take float32 inputs and write float32 outputs, quantized / dequantized with the model's own "
                   "scales and zero points (round to nearest, ties away from zero, as its QUANTIZE).")
@OPTIMIZE
@PATCH
def run(model: Path, input_path: Path, output_path: Path, target: str, report_path: Path | None,
        float_io: bool, goal: str, patch: bool) -> None:
    """Run MODEL on inputs with the reference runtime, the generated C on the host, or an emulated board."""
    from tinyc.atomic import write_text
    from tinyc.pipeline import build_plan, check_output_path, load_inputs, run_model, save_outputs

    plan = build_plan(model, patch)
    check_output_path(plan.graph, output_path)
    if float_io:
        from tinyc.floatio import dequantize_outputs, load_float_inputs, quantize_inputs

        floats, single = load_float_inputs(plan.graph, input_path)
        outputs, report = run_model(plan, quantize_inputs(plan.graph, floats), target, goal)
        outputs = dequantize_outputs(plan.graph, outputs)
    else:
        batches, single = load_inputs(plan.graph, input_path)
        outputs, report = run_model(plan, batches, target, goal)
    save_outputs(output_path, plan.graph, outputs, single)
    if report_path is not None:
        write_text(report_path, json.dumps(report, indent=1) + "\n")
    click.echo(f"{target}: {len(outputs[0])} input(s) -> {output_path}", err=True)


@main.command(name="compile")
@MODEL
@click.option("--board", default="host", show_default=True, help="A board id (see `tinyc boards`) or host.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The folder to write (replaced if it holds an earlier output).")
@click.option("--name", help="C name prefix of the library (default: from the model file; `model` for LMs).")
@click.option("--quant", type=click.Choice(["f32", "int8"]), default="int8", show_default=True,
              help="Language-model checkpoints: float32 or int8 weights, activations and KV cache.")
@click.option("--context", default=256, show_default=True, type=click.IntRange(min=1),
              help="Language-model checkpoints: positions the KV cache holds.")
@click.option("--tokenizer", "tokenizer_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Language-model checkpoints: tokenizer.bin, so the firmware main prints text.")
@click.option("--format", "layout", type=click.Choice(["library", "arduino"]), default="library",
              show_default=True, help="library: flat C folder (PlatformIO library.json, CMakeLists.txt); "
                                      "arduino: Arduino library (library.properties, src/, examples/).")
@OPTIMIZE
@PATCH
def compile_(model: Path, board: str, out_dir: Path, name: str | None, quant: str, context: int,
             tokenizer_path: Path | None, layout: str, goal: str, patch: bool) -> None:
    """Write MODEL as a self-contained, heap-free C99 library for a board.

    For a llama2.c checkpoint (.bin) the library has a step API (one token in, logits and the next token
    out) and a main.c that prints the story over semihosting/UART.
    """
    from tinyc.errors import InputError
    from tinyc.llm.library import compile_checkpoint, is_checkpoint
    from tinyc.report.build import write_library_report

    if is_checkpoint(model):
        if layout != "library":
            raise InputError(f"--format {layout}: language-model checkpoints compile to the library layout only")
        if patch:
            raise InputError(NO_LM_PATCH)
        r = compile_checkpoint(model, out_dir, board, quant, context, tokenizer_path, name or "model")
        write_library_report(out_dir, board, checkpoint=model, quant=quant, context=context)
        click.echo(f"{out_dir}: {r['quant']}, context {r['context']}, {r['weights_bytes']:,} bytes of weights, "
                   f"{r['arena_bytes']:,} bytes of arena (KV cache {r['kv_cache_bytes']:,})")
        return
    from tinyc.pipeline import build_plan, compile_library, fit_in_ram

    plan = fit_in_ram(build_plan(model, patch), board)  # (the plan compile_library takes: the report shows it)
    report = compile_library(plan, out_dir, board, name, layout, goal)
    t = report["totals"]
    banded = f" (the first {len(plan.patch.nodes)} layers in {plan.patch.bands} row bands)" if plan.patch else ""
    write_library_report(out_dir, board, plan, report)
    click.echo(f"{out_dir}: {t['macs']:,} MACs, {t['weight_bytes']:,} bytes of weights, "
               f"{t['arena_bytes']:,} bytes of arena{banded}")


@main.command()
def boards() -> None:
    """List the boards tinyc knows, with their cores, memories, PlatformIO platform/board ids and emulation
    status."""
    from tinyc.boards import all_boards

    rows = [(b.id, b.core, f"{b.flash_kib} KiB", f"{b.ram_kib} KiB", f"{b.clock_mhz} MHz",
             f"{b.platformio.platform}/{b.platformio.board}" if b.platformio else "-", b.status)
            for b in all_boards()]
    head = ("board", "core", "flash", "RAM", "clock", "platformio", "status")
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(len(head))]
    for row in [head, *rows]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@main.command()
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (the README's).")
def ops(markdown: bool) -> None:
    """List the TFLite operators tinyc compiles, with their dtypes, beside those TFLM registers."""
    from tinyc.ops.support import markdown_table, support_rows

    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    rows = [(r.tflite, "yes" if r.in_tflm else "no", ", ".join(r.ops) or "-", r.dtypes or "unsupported")
            for r in support_rows()]
    head = ("operator", "TFLM", "tinyc op", "dtypes")
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(3)]
    for row in [head, *rows]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row[:3], widths, strict=True)) + "  " + row[3])


def _register_subcommands() -> None:
    """Commands that live with their stage of the pipeline."""
    from tinyc.bench.cli import bench
    from tinyc.ci import ci
    from tinyc.llm.cli import generate
    from tinyc.platformio.cli import firmware
    from tinyc.prune.cli import prune
    from tinyc.quant.cli import quantize
    from tinyc.report.cli import report
    from tinyc.validate.cli import validate

    main.add_command(quantize)
    main.add_command(generate)
    main.add_command(bench)
    main.add_command(prune)
    main.add_command(firmware)
    main.add_command(report)
    main.add_command(ci)
    main.add_command(validate)


_register_subcommands()
