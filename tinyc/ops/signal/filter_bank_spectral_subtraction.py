"""SignalFilterBankSpectralSubtraction: subtract a running noise estimate from uint32 channels.

As signal/src/filter_bank_spectral_subtraction.cc. The noise estimate is state: it starts at zero (TFLM's
Prepare and Reset), every invocation updates it, and output 1 is a copy of it. Even channels smooth with
`smoothing`, odd ones with `alternate_smoothing`; all arithmetic wraps as TFLM's uint32 / uint64.
"""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph, Node
from tinyc.lower.plan import State, Step
from tinyc.ops import OpDef, expect, register
from tinyc.ops.signal._common import INT32, int_attr, tensor_is
from tinyc.ops.signal._fixed import U32

COEFFICIENTS = ("smoothing", "one_minus_smoothing", "alternate_smoothing", "alternate_one_minus_smoothing",
                "min_signal_remaining")


def run(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    x, noise = inputs[0].astype(np.uint64), inputs[1].astype(np.uint64)
    even = np.arange(x.shape[1]) % 2 == 0
    smoothing = np.where(even, p["smoothing"], p["alternate_smoothing"]).astype(np.uint64)
    one_minus = np.where(even, p["one_minus_smoothing"], p["alternate_one_minus_smoothing"]).astype(np.uint64)
    sbits, bits = np.uint64(p["smoothing_bits"]), np.uint64(p["spectral_subtraction_bits"])
    scaled = (x << sbits) & U32
    noise = ((scaled * smoothing + noise * one_minus) >> bits) & U32
    estimate = np.minimum(noise, scaled)
    if p["clamping"]:
        noise = estimate
    floor = ((x * np.uint64(p["min_signal_remaining"])) >> bits) & U32
    out = np.maximum((scaled - estimate) >> sbits, floor)
    noise = noise.astype(np.uint32)
    return [out.astype(np.uint32), noise.copy(), noise]


@register
class SignalFilterBankSpectralSubtraction(OpDef):
    name = "signal_filter_bank_spectral_subtraction"
    tflite = ("SignalFilterBankSpectralSubtraction",)
    outputs = (2, 2)
    kernels = {"signal_filter_bank_spectral_subtraction": run}
    dtypes = frozenset({("uint32", "uint32")})

    def check(self, node: Node, graph: Graph) -> None:
        x = graph.tensor(node.inputs[0])
        for name, what in ((x.name, "the input"), (node.outputs[0], "output 0"), (node.outputs[1], "output 1")):
            tensor_is(graph, node, name, "uint32", rank=1, what=what)
            expect(graph.tensor(name).size == x.size, node, f"{what} must have {x.size} channels")
        n = int_attr(node, "num_channels", 1, 1 << 16)
        expect(n == x.size, node, f"num_channels is {n} but the input has {x.size} channels")
        for key in COEFFICIENTS:
            int_attr(node, key, *INT32)
        int_attr(node, "smoothing_bits", 0, 31)
        int_attr(node, "spectral_subtraction_bits", 0, 63)
        expect(isinstance(node.attrs.get("clamping"), bool), node, "attribute 'clamping' must be a bool")

    def lower(self, node: Node, graph: Graph) -> Step:
        a = node.attrs
        # int32 options held as TFLM's uint32 config fields
        params = {k: int(a[k]) & 0xFFFFFFFF for k in COEFFICIENTS}
        params |= {"smoothing_bits": int(a["smoothing_bits"]),
                   "spectral_subtraction_bits": int(a["spectral_subtraction_bits"]),
                   "clamping": int(bool(a["clamping"])), "channels": int(a["num_channels"])}
        state = State(f"{node.name}:noise_estimate", "uint32", (int(a["num_channels"]),))
        return Step("signal_filter_bank_spectral_subtraction", node.name, [node.inputs[0]], list(node.outputs),
                    params, state=[state])
