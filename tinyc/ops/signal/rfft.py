"""SignalRfft (int16): KISS FFT's fixed-point real FFT of each row, zero-padded to fft_length (rfft_int16.cc).

The output row holds fft_length / 2 + 1 complex values as (real, imaginary) int16 pairs.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import int_attr, tensor_is
from tinyc.ops.signal._kissfft import RfftTables, rfft


def tables(step: Step) -> RfftTables:
    return RfftTables(step.params["fft_length"])


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x = inputs[0]
    rows = x.reshape(-1, p["in_length"])
    padded = np.zeros((len(rows), p["fft_length"]), dtype=np.int16)
    padded[:, :p["in_length"]] = rows
    y = rfft(padded, tables(step))
    return [y.reshape(len(x), *p["out_shape"])]


@register
class SignalRfft(OpDef):
    name = "signal_rfft"
    kernels = {"signal_rfft": run}
    dtypes = frozenset({("int16", "int16")})

    def check(self, node: Node, graph: Graph) -> None:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        expect(node.attrs.get("dtype") == "int16", node, f"only the int16 FFT is supported, not "
               f"{node.attrs.get('dtype')}")
        tensor_is(graph, node, x.name, "int16", what="the input")
        tensor_is(graph, node, y.name, "int16", what="the output")
        n = int_attr(node, "fft_length", 4, 1 << 16)
        problem = RfftTables(n).unsupported()
        expect(problem is None, node, problem or "")
        expect(len(x.shape) == len(y.shape) and x.shape[:-1] == y.shape[:-1], node,
               f"output shape {list(y.shape)} does not match input {list(x.shape)} in the leading dimensions")
        expect(x.shape[-1] <= n, node, f"input rows of {x.shape[-1]} samples are longer than fft_length {n}")
        expect(y.shape[-1] == n + 2, node, f"output rows must hold {n // 2 + 1} complex values ({n + 2} int16), "
               f"got {y.shape[-1]}")

    def lower(self, node: Node, graph: Graph) -> Step:
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        n = int(node.attrs["fft_length"])
        t = RfftTables(n)
        consts = {"twiddles": t.twiddles.reshape(-1), "super_twiddles": t.super_twiddles.reshape(-1),
                  "order": t.order.astype(np.int32)}
        fstrides = np.cumprod([1] + [p for p, _ in t.stages])[:-1]
        stages = tuple((p, m, int(f)) for (p, m), f in reversed(list(zip(t.stages, fstrides, strict=True))))
        return Step("signal_rfft", node.name, [x.name], [y.name],
                    {"fft_length": n, "in_length": x.shape[-1], "rows": x.size // x.shape[-1],
                     "out_shape": y.shape, "stages": stages}, consts)
