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
