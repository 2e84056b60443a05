"""`tinyc generate`: run a llama2.c checkpoint on the reference runtime, the host or an emulated board."""

from __future__ import annotations

import codecs
import json
import sys
from pathlib import Path

import click

from tinyc.errors import InputError
from tinyc.llm.checkpoint import MIN_TEMPERATURE
from tinyc.options import Finite


def _temperature(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if 0 < value < MIN_TEMPERATURE:  # logits / temperature could overflow float32
        raise click.BadParameter(f"{value:g} is below {MIN_TEMPERATURE:g} (0 is greedy).", ctx, param)
    return value


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tokenizer", "tokenizer_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="llama2.c tokenizer.bin of the checkpoint's vocabulary.")
@click.option("--prompt", default="", help="Text to start from (after BOS).")
@click.option("--steps", default=256, show_default=True, type=int,
              help="Positions to run, prompt included; capped at the checkpoint's seq_len.")
@click.option("--temperature", default=0.0, show_default=True, type=Finite(min=0), callback=_temperature,
              help=f"0 = greedy, else at least {MIN_TEMPERATURE:g}.")
@click.option("--topp", default=0.9, show_default=True, type=Finite(0, 1, min_open=True),
              help="Top-p (nucleus) sampling, in (0, 1]; 1 = off.")
@click.option("--seed", default=1, show_default=True, type=int, help="Sampler seed (xorshift state, not 0).")
@click.option("--quant", type=click.Choice(["f32", "int8"]), default="f32", show_default=True,
              help="f32: llama2.c's arithmetic; int8: int8 weights, activations and KV cache.")
@click.option("--group-size", default=64, show_default=True, type=int, help="int8: inputs per scale.")
@click.option("--target", default="ref", show_default=True,
              help="ref (reference runtime), host (generated C) or an emulated board (nucleo-h743zi, "
                   "corstone-300, esp32-c3, ...).")
@click.option("--ids-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the token ids (prompt, including BOS, then generated), space-separated.")
@click.option("--c-out", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the generated C (and the build) in this folder.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With an emulated board as --target: write instructions per token (exact, mean over tokens "
                   "1..100 and per position), flash and RAM as JSON, and print the summary.")
def generate(model: Path, tokenizer_path: Path, prompt: str, steps: int, temperature: float, topp: float,
             seed: int, quant: str, group_size: int, target: str, ids_out: Path | None,
             c_out: Path | None, report_path: Path | None) -> None:
    """Generate text from a llama2.c checkpoint MODEL (or a PyTorch .pt/.pth of llama2.c's model.py with its
    model_args, e.g. train.py's ckpt.pt), streaming it to stdout."""
    from tinyc.atomic import write_text
    from tinyc.llm import QuantScheme, Tokenizer, load_checkpoint, load_torch, lower
    from tinyc.llm.run import stream_tokens

    ckpt = load_torch(model) if model.suffix in (".pt", ".pth") else load_checkpoint(model)
    tok = Tokenizer.load(tokenizer_path)
    tok.check_vocab(ckpt.config.vocab_size, str(model))
    if steps <= 0:
        raise InputError(f"--steps {steps}: must be positive")
    if report_path is not None and target in ("ref", "host"):
        raise InputError(f"--report measures a board: give an emulated board as --target, not '{target}'")
    steps = min(steps, ckpt.config.seq_len)
    ids = tok.encode(prompt, bos=True)
    if len(ids) > steps:
        raise InputError(f"the prompt is {len(ids)} tokens, more than --steps {steps}")
    kw = {"group_size": group_size} if quant == "int8" else {}
    plan = lower(ckpt, QuantScheme.named(quant, **kw), context=steps, name="model")
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    prev = ids[0]
    out = [ids[0]]
    if report_path is not None:
        from tinyc.llm.measure import generate_on_board

        measured = generate_on_board(plan, tok, ids, steps, temperature, topp, seed, target, c_out)
        tokens = iter(measured.tokens)
    else:
        tokens = stream_tokens(plan, tok, ids, steps, temperature, topp, seed, target, c_out)
    for token in tokens:
        text = decoder.decode(tok.piece_bytes(prev, token))
        if text:
            click.echo(text, nl=False)
            sys.stdout.flush()
        out.append(token)
        prev = token
    click.echo(decoder.decode(b"", final=True))
    if ids_out is not None:
        write_text(ids_out, " ".join(map(str, out)) + "\n")
    click.echo(f"{target}: {len(out) - 1} tokens ({plan.scheme.tag}, context {plan.context})", err=True)
    if report_path is not None:
        report = measured.report(plan, target)
        write_text(report_path, json.dumps(report, indent=1) + "\n")
        click.echo(_summary(report), err=True)


def _summary(report: dict) -> str:
    per_token = report["instructions_per_token"]
    first, last = per_token["positions_averaged"] or (0, 0)
    mean = per_token["mean_tokens_1_100"]
    flash, ram = report["flash"], report["ram"]
    counted = f"{mean:,.0f} instructions/token (mean of tokens {first}..{last})" if mean else "no token counted"
    return (f"{report['target']} ({report['core']}): {counted}; flash {flash['code']:,} code + "
            f"{flash['weights']:,} weights; RAM {ram['total']:,} (static {ram['static']:,} incl. arena "
            f"{ram['arena']:,}, stack peak {ram['stack_peak']:,})")
