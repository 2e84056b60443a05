"""SignalIrfft (int16, int32, float32): KISS FFT's inverse real FFT of each row (irfft_*.cc).

Input rows hold at least fft_length / 2 + 1 complex values as (real, imaginary) pairs (kiss_fftri reads that
many), output rows fft_length samples. The fixed-point builds scale by 1 / ncfft through their stages; the
float one divides its unscaled result by fft_length as TFLM does.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._kissfft import DTYPES, irfft
from tinyc.ops.signal.rfft import check_fft, fft_step, tables


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x = inputs[0]
    n = p["fft_length"]
    rows = x.reshape(-1, p["in_length"])[:, :n + 2].reshape(-1, n // 2 + 1, 2)
    y = irfft(rows, tables(step, inverse=True))
    if p["dtype"] == "float32":
        y = y / np.float32(n)
    return [y.reshape(len(x), *p["out_shape"])]


@register
class SignalIrfft(OpDef):
    name = "signal_irfft"
    tflite = ("SignalIrfft",)
    kernels = {"signal_irfft": run}
    dtypes = frozenset((d, d) for d in DTYPES)

    def check(self, node: Node, graph: Graph) -> None:
        n = check_fft(node, graph)
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape[-1] % 2 == 0 and x.shape[-1] >= n + 2, node, f"input rows must hold at least {n // 2 + 1} "
               f"complex values ({n + 2} values), got {x.shape[-1]}")
        expect(y.shape[-1] == n, node, f"output rows must hold fft_length {n} samples, got {y.shape[-1]}")

    def lower(self, node: Node, graph: Graph) -> Step:
        return fft_step("signal_irfft", node, graph, inverse=True)
