"""`tinyc prune`: zero the smallest weights of a model, write it back, and report the cost."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinyc.options import Finite


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="OUT.tflite: the pruned model, in the input model's precision (float or int8).")
@click.option("--sparsity", type=Finite(0.0, 1.0, max_open=True), help="Fraction of each layer's weights to "
              "zero, in [0, 1) (overall fraction with --allocate sensitivity). Not used by --method n:m.")
@click.option("--method", type=click.Choice(["unstructured", "channel", "n:m"]), default="unstructured",
              show_default=True, help="Smallest weights anywhere, whole output channels, or N of every M.")
@click.option("--n-m", "n_m", default="2:4", show_default=True, help="The N:M pattern of --method n:m.")
@click.option("--data", "data_path", type=click.Path(path_type=Path),
              help="DATA (as for tinyc quantize): float samples for bias correction, the sensitivity scan "
                   "and the report's accuracy figures.")
@click.option("--allocate", type=click.Choice(["uniform", "sensitivity"]), default="uniform",
              show_default=True, help="The same sparsity in every layer, or per-layer sparsities from a "
              "sensitivity scan of DATA.")
@click.option("--bias-correction/--no-bias-correction", default=True, show_default=True,
              help="With DATA and a float model: correct each bias for the mean error pruning adds.")
@click.option("--scan", "with_scan", is_flag=True, help="Add the per-layer sensitivity scan to the report.")
@click.option("--remove/--keep-shape", "remove", default=True, show_default=True,
              help="With --method channel: take the pruned channels out of the graph (and out of the next "
                   "layers' inputs), or only zero them.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the report: JSON if FILE ends in .json, else Markdown.")
def prune(model: Path, output_path: Path, sparsity: float | None, method: str, n_m: str,
          data_path: Path | None, allocate: str, bias_correction: bool, with_scan: bool, remove: bool,
          report_path: Path | None) -> None:
    """Prune MODEL's conv, depthwise and fully-connected weights by magnitude."""
    from tinyc.atomic import write_text
    from tinyc.errors import InputError
    from tinyc.export import write_tflite
    from tinyc.frontends import load_model
    from tinyc.prune import allocate as allocate_sparsity
    from tinyc.prune import compare, scan, sparsity_report
    from tinyc.prune import prune as prune_graph
    from tinyc.prune.masks import parse_n_m
    from tinyc.prune.report import render, to_json, weight_bytes
    from tinyc.prune.structured import remove_channels
    from tinyc.quant import correct_bias, load_samples

    try:
        pattern = parse_n_m(n_m)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if method != "n:m" and sparsity is None:
        raise InputError(f"--sparsity is required with --method {method}")
    if (allocate == "sensitivity" or with_scan) and data_path is None:
        raise InputError("a sensitivity scan needs sample inputs: pass --data DATA")
    graph = load_model(model)
    samples = load_samples(graph, data_path) if data_path is not None else None
    table = scan(graph, samples, method if method != "n:m" else "unstructured") \
        if samples is not None and (allocate == "sensitivity" or with_scan) else None
    target = allocate_sparsity(graph, table, sparsity) if allocate == "sensitivity" and method != "n:m" \
        else (sparsity or 0.0)
    pruned = prune_graph(graph, target, method, pattern)
    corrected = samples is not None and bias_correction and graph.tensor(graph.inputs[0]).dtype == "float32"
    if corrected:
        pruned = correct_bias(graph, pruned, samples, keep_zero_channels=method == "channel")
    final = remove_channels(pruned) if method == "channel" and remove else pruned
    write_tflite(final, output_path)
    settings = {"model": str(model), "output": str(output_path),
                "method": f"n:m ({n_m})" if method == "n:m" else method,
                "sparsity": sparsity if method != "n:m" else 1 - pattern[0] / pattern[1],
                "allocation": allocate, "bias correction": corrected}
    comparison = compare(graph, final, samples) if samples is not None else None
    doc = to_json(graph.name, sparsity_report(pruned), settings, comparison, table)
    doc["weight_bytes"] = {"before": weight_bytes(graph), "after": weight_bytes(final)}
    text = render(doc)
    click.echo(text)
    if report_path is not None:
        write_text(report_path, json.dumps(doc, indent=1) + "\n" if report_path.suffix == ".json" else text)
