"""SignalRfft (int16, int32, float32): KISS FFT's real FFT of each row, zero-padded to fft_length (rfft_*.cc).

The output row holds fft_length / 2 + 1 complex values as (real, imaginary) pairs of the input's dtype.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import int_attr, tensor_is
from tinyc.ops.signal._kissfft import DTYPES, KissTables, rfft


def tables(step: Step, inverse: bool = False) -> KissTables:
    return KissTables(step.params["fft_length"], step.params["dtype"], inverse)


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x = inputs[0]
    rows = x.reshape(-1, p["in_length"])
    padded = np.zeros((len(rows), p["fft_length"]), dtype=x.dtype)
    padded[:, :p["in_length"]] = rows
    y = rfft(padded, tables(step))
    return [y.reshape(len(x), *p["out_shape"])]


def check_fft(node: Node, graph: Graph) -> int:
    """The dtype attribute, the tensors' dtypes and fft_length (returned) of SignalRfft / SignalIrfft."""
    dtype = node.attrs.get("dtype")
    expect(dtype in DTYPES, node, f"only the {', '.join(DTYPES)} FFTs are supported, not {dtype}")
    tensor_is(graph, node, node.inputs[0], dtype, what="the input")
    tensor_is(graph, node, node.outputs[0], dtype, what="the output")
    n = int_attr(node, "fft_length", 4, 1 << 16)
    problem = KissTables(n).unsupported()
    expect(problem is None, node, problem or "")
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    expect(len(x.shape) >= 1 and len(x.shape) == len(y.shape) and x.shape[:-1] == y.shape[:-1], node,
           f"output shape {list(y.shape)} does not match input {list(x.shape)} in the leading dimensions")
    return n


def fft_step(kernel: str, node: Node, graph: Graph, inverse: bool) -> Step:
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    t = KissTables(int(node.attrs["fft_length"]), x.dtype, inverse)
    consts = {"twiddles": t.twiddles.reshape(-1), "super_twiddles": t.super_twiddles.reshape(-1),
              "order": t.order.astype(np.int32)}
    return Step(kernel, node.name, [x.name], [y.name],
                {"dtype": x.dtype, "fft_length": t.fft_length, "in_length": x.shape[-1],
                 "rows": x.size // x.shape[-1], "out_shape": y.shape, "stages": t.stage_plan}, consts)


@register
class SignalRfft(OpDef):
    name = "signal_rfft"
    tflite = ("SignalRfft",)
    kernels = {"signal_rfft": run}
    dtypes = frozenset((d, d) for d in DTYPES)

    def check(self, node: Node, graph: Graph) -> None:
        n = check_fft(node, graph)
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(x.shape[-1] <= n, node, f"input rows of {x.shape[-1]} samples are longer than fft_length {n}")
        expect(y.shape[-1] == n + 2, node, f"output rows must hold {n // 2 + 1} complex values ({n + 2} values), "
               f"got {y.shape[-1]}")

    def lower(self, node: Node, graph: Graph) -> Step:
        return fft_step("signal_rfft", node, graph, inverse=False)
