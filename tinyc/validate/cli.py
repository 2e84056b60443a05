"""`tinyc validate`."""

from __future__ import annotations

import json
from pathlib import Path

import click

FILE = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("model", type=FILE)
@click.option("--original", required=True, type=FILE,
              help="The float model (.tflite or .onnx) MODEL was quantized from; LiteRT / onnxruntime run it.")
@click.option("--data", required=True, type=FILE,
              help="X.npy: float inputs, one or N stacked (the model's leading batch axis of 1 may be left out); "
                   "several inputs: X.npz with arrays input0, input1, ...")
@click.option("--labels", type=FILE, help="y.npy: the class index of each input, for accuracy.")
@click.option("--target", default="ref", show_default=True,
              help="ref, host or a board id (QEMU); with --port, the board the validation firmware was built for.")
@click.option("--port", help="A serial port (/dev/ttyACM0, or a pyserial URL such as socket://host:port) of a board "
                             "running tinyc's validation firmware: the inputs are streamed to it.")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds to wait for each answer on --port.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def validate(model: Path, original: Path, data: Path, labels: Path | None, target: str, port: str | None,
             timeout: float, as_json: bool) -> None:
    """Compare MODEL (quantized, as deployed) with its float ORIGINAL on the same inputs: accuracy, top-1
    agreement, RMSE, max error, L2 relative error and cosine per output."""
    from tinyc.validate import render_table
    from tinyc.validate import validate as run

    report = run(model, original, data, labels, target, port, timeout)
    click.echo(json.dumps(report, indent=1) if as_json else render_table(report))
