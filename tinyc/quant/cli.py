"""`tinyc quantize`: float model + calibration data -> int8 .tflite, with an accuracy report."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinyc.options import Finite
from tinyc.quant.calibration import DEFAULT_PERCENTILE, METHODS


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--calib", "calib_path", required=True, type=click.Path(path_type=Path),
              help="DATA: a .npy of float samples stacked on a leading axis ((N,) + the model's input "
                   "shape; its leading batch axis of 1 may be left out), or a folder of .npy files (each one "
                   "sample or a batch).")
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="OUT.tflite: the int8 model (TFLite flatbuffer; tinyc and TFLM run it).")
@click.option("--method", type=click.Choice(METHODS), default="mse", show_default=True,
              help="How each activation's range is chosen from the calibration data.")
@click.option("--percentile", type=Finite(50, 100, min_open=True), default=DEFAULT_PERCENTILE, show_default=True,
              help="Kept fraction (%, in (50, 100]) for --method percentile.")
@click.option("--bias-correction/--no-bias-correction", default=True, show_default=True,
              help="Subtract each channel's mean quantization error (on the calibration set) from its bias.")
@click.option("--per-channel-fc/--per-tensor-fc", default=False, show_default=True,
              help="Fully-connected weights with one scale per output unit (TFLM supports both).")
@click.option("--eval", "eval_path", type=click.Path(path_type=Path),
              help="DATA to evaluate the report on (default: the calibration data).")
@click.option("--classifier/--no-classifier", default=None,
              help="Report top-1 agreement (default: when the model ends in a softmax).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the report: JSON if FILE ends in .json, else Markdown.")
@click.option("--batch", type=click.IntRange(min=1), default=64, show_default=True,
              help="Samples per reference-runtime batch.")
def quantize(model: Path, calib_path: Path, output_path: Path, method: str, percentile: float,
             bias_correction: bool, per_channel_fc: bool, eval_path: Path | None, classifier: bool | None,
             report_path: Path | None, batch: int) -> None:
    """Quantize a float MODEL to int8 by post-training calibration on DATA, and report what it costs."""
    from tinyc.atomic import write_text
    from tinyc.export import write_tflite
    from tinyc.frontends import load_model
    from tinyc.quant import evaluate, load_samples, ptq, render
    from tinyc.quant.quantize import as_float, check_float

    loaded = load_model(model)
    check_float(loaded)
    graph = as_float(loaded)  # the float network a hybrid file's int8 weights stand for
    samples = load_samples(graph, calib_path)
    eval_samples = load_samples(graph, eval_path) if eval_path is not None else samples
    qgraph = ptq(graph, samples, method, bias_correction, percentile, per_channel_fc, batch)
    write_tflite(qgraph, output_path)
    report = evaluate(graph, qgraph, eval_samples, batch, classifier)
    report.settings = {"model": str(model), "output": str(output_path), "calibration samples": len(samples),
                       "method": method + (f" ({percentile:g}%)" if method == "percentile" else ""),
                       "bias correction": bias_correction, "per-channel FC": per_channel_fc,
                       "evaluated on": str(eval_path) if eval_path is not None else "the calibration data"}
    if graph.to_json() != loaded.to_json():
        report.settings["float reference"] = "the hybrid model's int8 weights dequantized"
    text = render(report)
    click.echo(text)
    if report_path is not None:
        write_text(report_path, json.dumps(report.to_json(), indent=1) + "\n" if report_path.suffix == ".json"
                   else text)
