"""`tinyc ci`: the benchmark matrix on a CI's own runners.

- ``tinyc ci workflow``: a GitHub Actions workflow for a firmware team's repository: one matrix job per
  shard of the boards (each runs ``tinyc bench`` on its boards, writes its Markdown table to the job
  summary and uploads its JSON), then one ``check`` job that merges the shards and compares them with the
  committed baseline (exit 1 on a bit mismatch, a missing pair or a regression), the merged table as its
  summary. Nothing of tinyc schedules anything: the runners are the CI's.
- ``tinyc ci check``: that merge and baseline comparison, on the shards' JSON files.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import yaml

from tinyc import __version__

#: what a GitHub-hosted Ubuntu runner installs to build and emulate (as scripts/install.sh on Debian)
APT = ("gcc gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm qemu-system-misc "
       "gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf")


def shards(boards: Sequence[str], count: int) -> list[list[str]]:
    """``boards`` dealt round-robin into at most ``count`` non-empty shards."""
    count = max(1, min(count, len(boards)))
    return [list(boards[i::count]) for i in range(count)]


def workflow(models: Sequence[str], boards: Sequence[str], *, shard_count: int, baseline: str,
             inputs: int, install: str, jobs: int = 2, runner: str = "ubuntu-24.04") -> dict[str, Any]:
    """The workflow document (see the module docstring)."""
    include = [{"shard": f"{i + 1}", "boards": ",".join(group)} for i, group in enumerate(shards(boards, shard_count))]
    setup = [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
        {"name": "Install tinyc", "run": install},
    ]
    models_arg = ",".join(models)
    bench = [
        {"name": "Toolchains and emulators", "run": f"sudo apt-get update -q && sudo apt-get install -y -q {APT}"},
        {"name": "Bench the shard",
         "run": f'tinyc bench --models {models_arg} --boards "${{{{ matrix.boards }}}}" --inputs {inputs} '
                f'--jobs {jobs} --json "shard-${{{{ matrix.shard }}}}.json" --markdown shard.md'},
        {"name": "Job summary", "if": "always()", "run": 'cat shard.md >> "$GITHUB_STEP_SUMMARY"'},
        {"uses": "actions/upload-artifact@v4", "if": "always()",
         "with": {"name": "tinyc-shard-${{ matrix.shard }}", "path": "shard-${{ matrix.shard }}.json"}},
    ]
    check = [
        {"uses": "actions/download-artifact@v4", "with": {"pattern": "tinyc-shard-*", "merge-multiple": True,
                                                          "path": "shards"}},
        {"name": "Baseline check",
         "run": f'tinyc ci check --baseline {baseline} --markdown merged.md shards/*.json'},
        {"name": "Job summary", "if": "always()", "run": 'cat merged.md >> "$GITHUB_STEP_SUMMARY"'},
    ]
    return {
        "name": "tinyc benchmark matrix",
        "on": {"push": {"branches": ["main"]}, "pull_request": None, "workflow_dispatch": None},
        "permissions": {"contents": "read"},
        "jobs": {
            "bench": {"name": "bench shard ${{ matrix.shard }} (${{ matrix.boards }})", "runs-on": runner,
                      "strategy": {"fail-fast": False, "matrix": {"include": include}},
                      "steps": setup + bench},
            "check": {"name": "baseline check", "needs": "bench", "if": "always()", "runs-on": runner,
                      "steps": setup + check},
        },
    }


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # the two jobs' shared steps are written out, not as &anchors
        return True


def render(doc: dict[str, Any], command: str) -> str:
    header = f"# Written by `{command}` (tinyc {__version__}); regenerate rather than edit.\n"
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120)


@click.group()
def ci() -> None:
    """The benchmark matrix on a CI's runners: write the workflow, check its shards against a baseline."""


@ci.command(name="workflow")
@click.option("-m", "--models", "model_args", multiple=True, required=True, metavar="M1,M2,..",
              help="Model files, as paths in the repository that runs the workflow (comma-separated or repeated).")
@click.option("-b", "--boards", "board_args", multiple=True, metavar="B1,B2,..", help="Board ids (default: all).")
@click.option("--shards", "shard_count", type=click.IntRange(1), help="Matrix jobs [default: one per board].")
@click.option("--baseline", default="benchmarks/baseline.json", show_default=True,
              help="The committed baseline in that repository (tinyc bench --update-baseline writes it).")
@click.option("-n", "--inputs", default=20, show_default=True, type=click.IntRange(0), help="Random inputs per pair.")
@click.option("--install", default=f"pip install 'tinyc=={__version__}'", show_default=True,
              help="The step's command that installs tinyc (a pip spec, a git URL ...).")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here (e.g. .github/workflows/tinyc.yml) instead of stdout.")
def workflow_command(model_args: tuple[str, ...], board_args: tuple[str, ...], shard_count: int | None,
                     baseline: str, inputs: int, install: str, out: Path | None) -> None:
    """Write a GitHub Actions workflow: a matrix job per board shard running `tinyc bench`, its Markdown table
    as the job summary, then the baseline check over all shards."""
    import shlex

    from tinyc.atomic import write_text
    from tinyc.bench.cli import resolve_boards, split_list

    models, boards = split_list(model_args), resolve_boards(board_args)
    doc = workflow([shlex.quote(m) for m in models], boards, shard_count=shard_count or len(boards),
                   baseline=shlex.quote(baseline), inputs=inputs, install=install)
    text = render(doc, "tinyc ci workflow")
    if out is None:
        click.echo(text, nl=False)
    else:
        write_text(out, text)


@ci.command(name="check")
@click.argument("shard_files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--baseline", "baseline_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tolerance", default=0.01, show_default=True, type=click.FloatRange(0), help="As tinyc bench's.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the merged matrix as Markdown.")
def check_command(shard_files: tuple[Path, ...], baseline_path: Path, tolerance: float,
                  markdown_path: Path | None) -> None:
    """Merge the shards' matrices (tinyc bench --json) and compare them with the baseline as `tinyc bench
    --baseline` does; exit 1 on any failure."""
    from tinyc.atomic import write_text
    from tinyc.bench.baseline import compare, load_matrix
    from tinyc.bench.markdown import render_markdown
    from tinyc.errors import InputError

    def read(path: Path) -> dict[str, Any]:
        try:
            return load_matrix(path)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a tinyc bench matrix ({exc})") from None

    parts = [read(p) for p in shard_files]
    merged = {**{k: v for k, v in parts[0].items() if k != "rows"}, "rows": [r for p in parts for r in p["rows"]]}
    text = render_markdown(merged)
    if markdown_path is not None:
        write_text(markdown_path, text)
    failures = compare(merged, read(baseline_path), tolerance)
    click.echo(f"tinyc ci check: {len(merged['rows'])} pairs from {len(parts)} shard(s), {len(failures)} failure(s)")
    for failure in failures:
        click.echo(f"  {failure}", err=True)
    if failures:
        sys.exit(1)
