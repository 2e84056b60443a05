"""`tinyc report`: the analysis report of a model on a board as one self-contained HTML file (+ PNGs)."""

from __future__ import annotations

from pathlib import Path

import click

from tinyc.options import PATCH

PATH = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("model", type=PATH)
@click.option("--board", required=True, help="A board id (see `tinyc boards`).")
@click.option("-o", "--output", "out", required=True, type=PATH, help="The HTML file to write.")
@click.option("--png", "png_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each chart as a PNG into this folder.")
@click.option("--original", type=PATH, help="The float model the int8 one was quantized from (SNR per layer).")
@click.option("--data", "data_path", type=PATH, help="X.npy: float inputs for the SNR (one sample or N stacked).")
@click.option("--no-emulate", is_flag=True, help="Do not run the board's emulator (MACs instead of instructions).")
@PATCH
def report(model: Path, board: str, out: Path, png_dir: Path | None, original: Path | None,
           data_path: Path | None, no_emulate: bool, patch: bool) -> None:
    """Per-layer instructions (emulated boards, exact) with estimated ms, MACs, weight and arena bytes; the
    arena timeline; flash and RAM against the board; with --original and --data the quantization SNR per
    layer. llama2.c checkpoints: the cost of one decoding step per transformer component.

    \b
    tinyc report kws_ref_model.tflite --board nucleo-l4r5zi -o report.html --png pictures/
    """
    from tinyc.errors import InputError
    from tinyc.report.build import report_for_model, write_report

    if not model.is_file():
        raise InputError(f"{model}: no such model file")
    if (original is None) != (data_path is None):
        raise click.UsageError("--original and --data go together")
    data = None
    if data_path is not None:
        import numpy as np

        try:
            data = np.load(data_path, allow_pickle=False)  # never unpickle
        except (ValueError, OSError) as exc:
            raise InputError(f"{data_path}: not a .npy array ({exc})") from None
    rep = report_for_model(model, board, original=original, data=data, emulate=not no_emulate, patch=patch)
    written = write_report(rep, out, png_dir)
    click.echo(f"tinyc report: wrote {', '.join(map(str, written))}", err=True)
