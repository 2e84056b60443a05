"""Click parameter types shared by the commands: numbers that must be finite and in a range."""

from __future__ import annotations

import math

import click


class Finite(click.FloatRange):
    """A float in a range that is never NaN or infinite (click's FloatRange lets NaN through: every comparison
    with NaN is false)."""

    name = "finite float"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


PATCH = click.option(
    "--patch", is_flag=True,
    help="Run the model's first layers (a chain of convolutions, depthwise convolutions and pools from the input) "
         "band by band of output rows, so their large activations are never whole in RAM: the stage and band "
         "count with the smallest arena, where that cuts the arena by 10% or more for at most 5% more MACs (the "
         "halo rows computed twice); the same output bytes, more instructions and some more code. Without it, a "
         "model too big for the board's RAM gets bands only if they make it fit.")

NO_LM_PATCH = "--patch: language-model checkpoints have no convolution layers to run in bands"

GOALS = ("speed", "balanced", "size")  # the kernel-variant trade-offs of tinyc/codegen/variants.py

OPTIMIZE = click.option(
    "--optimize", "goal", type=click.Choice(GOALS), default="balanced", show_default=True,
    help="Board targets: which kernel each pruned layer gets on the board's core, by the measured per-core cost "
         "model, on DSP cores whether depthwise 3x3 and pointwise layers of many shapes share a few functions, on "
         "RISC-V whether fully connected layers take the pair-sums kernel (2-byte weights, fewer instructions), on "
         "cores without DSP or Helium whether depthwise border windows are read in place (more code): "
         "speed (fewest instructions), size (least flash: the sparse kernels, shared functions, 1-byte weights), "
         "balanced (sparse or shared only where its slowdown is at most its flash saving; pair sums where fully "
         "connected layers do half the MACs, within 1/8 of the flash, their input words within 1/4 of the RAM).")
