"""SignalPCAN: per-channel automatic gain control of uint32 channels by their noise estimate.

As signal/src/pcan_argc_fixed.cc: the gain is a piecewise polynomial of the noise estimate from an int16
table (4 entries per octave; the table must hold the 125 entries the largest uint32 reads), then the
"shrink" function of the gained signal, kPcanSnrBits = 12 and kPcanOutputBits = 6.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import const_of, int_attr, tensor_is
from tinyc.ops.signal._fixed import U32, msb32, u32, wrap16

LUT_MIN = 4 * 32 - 6 + 3
SNR_BITS, OUTPUT_BITS = 12, 6


def wide_dynamic_function(x: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """WideDynamicFunction of uint32 values (as uint64) -> the int16 gain (as int64)."""
    xi = x.astype(np.int64)
    interval = msb32(x)
    base = np.maximum(4 * interval - 6, 0)
    frac = np.where(interval < 11, xi << np.maximum(11 - interval, 0), xi >> np.maximum(interval - 11, 0)) & 0x3FF
    result = (lut[base + 2] * frac) >> 5
    result = (result + lut[base + 1] * 32) * frac
    result = wrap16(((result + (1 << 14)) >> 15) + lut[base])
    return np.where(xi <= 2, lut[np.minimum(xi, 2)], result)


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x, noise = (a.astype(np.uint64) for a in inputs)
    gain = u32(wide_dynamic_function(noise, step.consts["gain_lut"].astype(np.int64)))
    snr = ((x * gain) >> np.uint64(step.params["snr_shift"])) & U32
    small = (snr * snr) >> np.uint64(2 + 2 * SNR_BITS - OUTPUT_BITS)
    large = (snr >> np.uint64(SNR_BITS - OUTPUT_BITS)) - np.uint64(1 << OUTPUT_BITS)
    return [(np.where(snr < (2 << SNR_BITS), small, large) & U32).astype(np.uint32)]


@register
class SignalPcan(OpDef):
    name = "signal_pcan"
    tflite = ("SignalPCAN",)
    arity = (3, 3)
    kernels = {"signal_pcan": run}
    dtypes = frozenset({("uint32", "uint32")})

    def check(self, node: Node, graph: Graph) -> None:
        x = graph.tensor(node.inputs[0])
        for name, what in ((x.name, "the input"), (node.inputs[1], "the noise estimate"),
                           (node.outputs[0], "the output")):
            tensor_is(graph, node, name, "uint32", rank=1, what=what)
            expect(graph.tensor(name).size == x.size, node, f"{what} must have {x.size} channels")
        lut = const_of(graph, node, 2, "gain table")
        tensor_is(graph, node, node.inputs[2], "int16", rank=1, what="the gain table")
        expect(lut.size >= LUT_MIN, node, f"the gain table has {lut.size} entries, needs {LUT_MIN}")
        expect(not graph.tensor(node.inputs[1]).is_const, node, "a constant noise estimate is not supported")
        int_attr(node, "snr_shift", 0, 63)

    def lower(self, node: Node, graph: Graph) -> Step:
        return Step("signal_pcan", node.name, list(node.inputs[:2]), [node.outputs[0]],
                    {"snr_shift": int(node.attrs["snr_shift"]), "size": graph.tensor(node.inputs[0]).size},
                    {"gain_lut": graph.tensor(node.inputs[2]).data.reshape(-1)})
