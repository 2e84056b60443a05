"""`tinyc bench`: the model x board matrix, its Markdown, and the baseline check CI runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tinyc.bench.defaults import DEFAULT_INPUTS, DEFAULT_SEED
from tinyc.errors import InputError
from tinyc.options import PATCH, Finite


def split_list(values: tuple[str, ...]) -> list[str]:
    """Repeated and comma-separated option values, in order, without duplicates."""
    items = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return list(dict.fromkeys(items))


def resolve_boards(values: tuple[str, ...]) -> list[str]:
    from tinyc.boards import board_ids

    known = board_ids()
    wanted = split_list(values) or ["all"]
    boards = [b for w in wanted for b in (known if w == "all" else [w])]
    unknown = [b for b in boards if b not in known]
    if unknown:
        raise InputError(f"unknown board {', '.join(unknown)} (known: {', '.join(known)})")
    return list(dict.fromkeys(boards))


class _ListCommand(click.Command):
    """Lets a list option take several values in a row: `--models a b --boards x y` is read as
    `--models a --models b --boards x --boards y`."""

    LIST_OPTIONS = ("-m", "--models", "-b", "--boards")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        spread: list[str] = []
        current: str | None = None
        for arg in args:
            if arg in self.LIST_OPTIONS:
                current = arg
            elif arg.startswith("-") or current is None:
                current = None
            elif spread[-1] != current:
                spread.append(current)
            spread.append(arg)
        return super().parse_args(ctx, spread)


@click.command(cls=_ListCommand)
@click.option("-m", "--models", "model_args", multiple=True, required=True, metavar="M1,M2,..",
              help="Model files (.tflite, .onnx): several after the option, comma-separated or repeated.")
@click.option("-b", "--boards", "board_args", multiple=True, metavar="B1,B2,..",
              help="Board ids, given like --models; `all` (the default) is every board.")
@click.option("-n", "--inputs", "count", default=DEFAULT_INPUTS, show_default=True, type=click.IntRange(0),
              help="Random inputs per pair, on top of the all-zero input.")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=click.IntRange(0),
              help="Seed of the random inputs.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the matrix as JSON.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the matrix as Markdown (it is printed on stdout anyway).")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Compare with this baseline: exit 1 on a bit mismatch, a missing pair or any metric "
                   "(instructions, flash code, flash weights, RAM total) more than --tolerance worse.")
@click.option("--tolerance", default=0.01, show_default=True, type=Finite(0),
              help="Allowed regression against the baseline, as a fraction.")
@click.option("--update-baseline", is_flag=True,
              help="Write this matrix into --baseline instead of comparing (other pairs are kept). "
                   "Commit it with the change that caused it, the reason in the commit message.")
@click.option("-j", "--jobs", type=click.IntRange(1), help="Pairs run in parallel [default: CPU count].")
@click.option("--timeout", default=120.0, show_default=True, type=Finite(0, min_open=True),
              help="Seconds per emulator run.")
@PATCH
def bench(model_args: tuple[str, ...], board_args: tuple[str, ...], count: int, seed: int,
          json_path: Path | None, markdown_path: Path | None, baseline_path: Path | None, tolerance: float,
          update_baseline: bool, jobs: int | None, timeout: float, patch: bool) -> None:
    """Compile each model for each board, run it on the emulated core on seeded random inputs plus the
    all-zero input, check every output byte against the reference runtime, and report instructions per
    inference (exact, all-zero input), instructions per MAC, flash and RAM. Xtensa boards are generate
    only. Exits 1 on any mismatch or error, or on a regression against --baseline.

    \b
    tinyc bench --models kws.tflite ic.tflite --boards nucleo-l4r5zi esp32-c3 --markdown m.md
    tinyc bench -m kws.tflite,ic.tflite -b all --json m.json
    tinyc bench -m kws.tflite -b rpi-pico --baseline benchmarks/baseline.json
    """
    from tinyc.atomic import write_text
    from tinyc.bench.baseline import baseline_document, compare, row_failures, save_matrix
    from tinyc.bench.markdown import render_markdown
    from tinyc.bench.matrix import run_matrix

    if update_baseline and baseline_path is None:
        raise click.UsageError("--update-baseline needs --baseline FILE")
    models = split_list(model_args)
    for model in models:
        if not Path(model).is_file():
            raise InputError(f"{model}: no such model file")
    shown = [v for opt, path in (("--json", json_path), ("--markdown", markdown_path)) if path
             for v in (opt, str(path))]
    matrix = run_matrix(models, resolve_boards(board_args), count=count, seed=seed, jobs=jobs,
                        timeout=timeout, command_extra=shown + (["--patch"] if patch else []), patch=patch)
    text = render_markdown(matrix)
    click.echo(text)
    if json_path is not None:
        save_matrix(matrix, json_path)
    if markdown_path is not None:
        write_text(markdown_path, text)
    failures = row_failures(matrix)
    if baseline_path is not None and not failures:
        old = _read_baseline(baseline_path, must_exist=not update_baseline)
        if update_baseline:
            save_matrix(baseline_document(matrix, old), baseline_path)
            click.echo(f"tinyc bench: wrote {baseline_path}", err=True)
        else:
            failures = compare(matrix, old or {"rows": []}, tolerance)
    if failures:
        click.echo(f"tinyc bench: {len(failures)} failure(s):", err=True)
        for failure in failures:
            click.echo(f"  {failure}", err=True)
        sys.exit(1)


def _read_baseline(path: Path, must_exist: bool) -> dict | None:
    import json

    from tinyc.bench.baseline import load_matrix

    if not path.is_file():
        if must_exist:
            raise InputError(f"{path}: no such baseline (create it with --update-baseline)")
        return None
    try:
        return load_matrix(path)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a tinyc bench baseline ({exc})") from None
