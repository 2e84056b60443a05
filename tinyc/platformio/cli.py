"""``tinyc firmware``: a PlatformIO project that runs a model on a board."""

from __future__ import annotations

from pathlib import Path

import click

from tinyc.errors import InputError
from tinyc.options import NO_LM_PATCH, PATCH


@click.command()
@click.argument("model", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--board", help="A board id (see `tinyc boards`).")
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The project folder to write (an earlier tinyc firmware project there is updated).")
@click.option("--inputs", "inputs_path", type=click.Path(dir_okay=False, path_type=Path),
              help="IN.npy: inputs the firmware runs (one, or N stacked); default one input of zero bytes.")
@click.option("--name", help="C name prefix of the model library (default: from the model file).")
@click.option("--build", is_flag=True,
              help="Then build the board's <board>-qemu environment (offline; emulated boards only).")
@click.option("--run", "run_", is_flag=True,
              help="Then build the <board>-qemu environment and run it in QEMU (emulated boards only).")
@click.option("--tokenizer", "tokenizer_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Language-model checkpoints (.bin): tokenizer.bin, needed to print text.")
@click.option("--prompt", default="", help="Language-model checkpoints: text to start from (after BOS).")
@click.option("--steps", default=256, show_default=True, type=int,
              help="Language-model checkpoints: positions to run (greedy, int8), prompt included.")
@click.option("--setup-only", is_flag=True,
              help="Only prepare tinyc's PlatformIO core folder and print the shell lines that make `pio` "
                   "use it: eval \"$(tinyc firmware --setup-only)\".")
@PATCH
def firmware(model: Path | None, board: str | None, out_dir: Path | None, inputs_path: Path | None,
             name: str | None, build: bool, run_: bool, tokenizer_path: Path | None, prompt: str, steps: int,
             setup_only: bool, patch: bool) -> None:
    """Write a PlatformIO project that runs MODEL on a board and prints its outputs and time per inference.

    The project has the board's real environment (the default: `pio run -t upload` with the board and
    internet) and, for a board tinyc emulates, a `<board>-qemu` environment that builds offline with the
    local tinyc-qemu platform and runs in QEMU on upload. Run pio with tinyc's core folder:
    python -m tinyc.platformio run -d DIR -e <board>-qemu [-t upload].
    """
    from tinyc.platformio.core import export_lines, setup_core

    if setup_only:
        core = setup_core()
        click.echo(f"tinyc: PlatformIO core folder ready: {core}", err=True)
        click.echo(export_lines(core), nl=False)
        return
    missing = [opt for opt, value in (("MODEL", model), ("--board", board), ("-o", out_dir)) if not value]
    if missing:
        raise InputError(f"tinyc firmware needs {', '.join(missing)} (or --setup-only)")
    from tinyc.boards import load_board
    from tinyc.platformio.firmware import build_firmware, create_firmware

    if (build or run_) and not load_board(board).emulated:
        flag = "--run" if run_ else "--build"
        raise InputError(f"{flag}: {board} is generate only (not emulated here); write the project without "
                         f"{flag}, then, with the board and internet: python -m tinyc.platformio run -d {out_dir} "
                         f"-e {board}")
    from tinyc.llm.library import is_checkpoint

    if is_checkpoint(model):
        from tinyc.platformio.llm_project import create_llm_firmware

        if tokenizer_path is None:
            raise InputError(f"{model} is a language-model checkpoint: give its --tokenizer")
        if patch:
            raise InputError(NO_LM_PATCH)
        project = create_llm_firmware(model, board, out_dir, tokenizer_path, prompt=prompt, steps=steps)
        click.echo(f"{out_dir}: PlatformIO project for the language model {model.name} on {project.board.id} "
                   f"(default environment {project.default_env}, {steps} steps)")
    else:
        project = create_firmware(model, board, out_dir, inputs=inputs_path, name=name, patch=patch)
        click.echo(f"{out_dir}: PlatformIO project for {project.name} on {project.board.id} "
                   f"(default environment {project.default_env}, {project.num_inputs} input(s))")
    if build or run_:
        log = build_firmware(out_dir, project.emulated_env, target="upload" if run_ else None)
        click.echo(log)
