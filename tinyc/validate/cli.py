"""`tinyc validate`."""

from __future__ import annotations

import json
from pathlib import Path

import click

FILE = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("model", type=FILE)
@click.option("--original", type=FILE,
              help="The float model (.tflite or .onnx) MODEL was quantized from; LiteRT / onnxruntime run it.")
@click.option("--data", type=FILE,
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
@click.option("--html", "html_path", type=FILE,
              help="Also write `tinyc report` for --target BOARD with the validation as a section.")
@click.option("--firmware", "firmware_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Instead of validating, write the validation firmware's C sources for --target BOARD here.")
def validate(model: Path, original: Path | None, data: Path | None, labels: Path | None, target: str,
             port: str | None, timeout: float, as_json: bool, html_path: Path | None,
             firmware_dir: Path | None) -> None:
    """Compare MODEL (quantized, as deployed) with its float ORIGINAL on the same inputs: accuracy, top-1
    agreement, RMSE, max error, L2 relative error and cosine per output.

    \b
    tinyc validate kws_int8.tflite --original kws_float32.tflite --data x.npy --labels y.npy --target host
    tinyc validate kws_int8.tflite --target nucleo-f207zg --firmware fw/   # build, flash, then:
    tinyc validate kws_int8.tflite --original ... --data x.npy --target nucleo-f207zg --port /dev/ttyACM0
    """
    from tinyc.validate import render_table, write_firmware
    from tinyc.validate import validate as run

    if firmware_dir is not None:
        names = write_firmware(model, target, firmware_dir)
        click.echo(f"{firmware_dir}: validation firmware for {target}, {len(names)} files (implement serial_port.h "
                   "for the board's UART; serial_port_cmsdk.c is QEMU's)", err=True)
        return
    if original is None or data is None:
        raise click.UsageError("--original and --data are required (unless --firmware)")
    if html_path is not None:
        from tinyc.boards import board_ids
        from tinyc.errors import InputError

        if target not in board_ids():
            raise InputError(f"--html needs --target BOARD (the report is a board's), not '{target}'")
    report = run(model, original, data, labels, target, port, timeout)
    click.echo(json.dumps(report, indent=1) if as_json else render_table(report))
    if html_path is not None:
        from tinyc.report.build import report_for_model, write_report
        from tinyc.validate.report import validation_section

        written = write_report(report_for_model(model, target), html_path, extra_sections=[validation_section(report)])
        click.echo(f"tinyc validate: wrote {', '.join(map(str, written))}", err=True)
