"""Element-wise addition with fused activation; int8 as TFLM's Add (inputs rescaled at 2**20, then summed).

A constant second operand is broadcast to the output shape at compile time for the fast add kernels; two
activations of different shapes, a constant first operand and int32 go through the binary family
(tinyc/ops/_binary.py), as TFLM's BroadcastAdd.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tinyc._kernels import add as _add
from tinyc.ir import Graph, Node, Quant
from tinyc.lower.plan import Step
from tinyc.numerics import multiply_by_quantized_multiplier as mbqm
from tinyc.numerics import quantize_multiplier_smaller_than_one
from tinyc.ops import expect, register
from tinyc.ops._binary import WITH_INT32, BinaryOp, is_binary_case
from tinyc.ops._common import activation_of, is_int8, quant, tflm_output_bounds
from tinyc.ops._float import QUIET, clamp
from tinyc.ops.sub import rescaled

LEFT_SHIFT = 20  # TFLM's headroom shift for int8 addition
LEFT_SHIFT_S16 = 15  # and for int16 (through the binary family)
LINEAR_MAX_SHIFT = 24  # the Helium path saturates by a left shift of 24 - s


@lru_cache(maxsize=64)
def linear_form(a_zp: int, b_zp: int, a_mult: int, a_shift: int, b_mult: int, b_shift: int, out_mult: int,
                out_shift: int, out_zp: int, act_min: int, act_max: int) -> tuple[int, int, int, int] | None:
    """Integers (ka, kb, kc, s) with clamp((ka * a + kb * b + kc) >> s, act_min, act_max) equal to run_s8's
    output for all 65,536 pairs of int8 inputs and every partial sum within int32 (|kc| + 128 (ka + kb) <
    2**31), for the smallest s found (slopes within 3 of their real values * 2**s); None if none has
    s <= LINEAR_MAX_SHIFT (add_s8.c.j2 then computes as TFLM does)."""
    v = np.arange(-128, 128, dtype=np.int64)
    a, b = np.repeat(v, 256), np.tile(v, 256)
    want = _add.add_s8(a.astype(np.int8), b.astype(np.int8), a_zp, b_zp, a_mult, a_shift, b_mult, b_shift,
                       out_mult, out_shift, out_zp, act_min, act_max, LEFT_SHIFT).astype(np.int64)
    # output units per input unit: the rescales at 2**20 then the output multiplier
    unit = out_mult * 2.0 ** (out_shift - 31 + LEFT_SHIFT - 31)
    ra, rb = a_mult * 2.0 ** a_shift * unit, b_mult * 2.0 ** b_shift * unit
    above, below = want > act_min, want < act_max  # which of the bounds of a value's step bind
    for s in range(1, LINEAR_MAX_SHIFT + 1):
        lo = np.where(above, want << s, -(2**62))
        hi = np.where(below, (want + 1) << s, 2**62)  # kc within [max(lo - L), min(hi - L)) for L = ka a + kb b
        ka0, kb0 = round(ra * 2**s), round(rb * 2**s)
        for ka in range(max(ka0 - 3, 0), ka0 + 4):
            for kb in range(max(kb0 - 3, 0), kb0 + 4):
                part = ka * a + kb * b
                kc = int((lo - part).max())
                if kc < int((hi - part).min()) and abs(kc) + 128 * (ka + kb) < 2**31:
                    return ka, kb, kc, s
    return None


def run_s8(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p, c = step.params, step.consts
    b = inputs[1] if len(inputs) > 1 else c["other"]
    shape = inputs[0].shape[:1] + (b.shape[1:] if len(inputs) > 1 else b.shape)
    a = np.ascontiguousarray(np.broadcast_to(inputs[0], shape)).reshape(-1)
    out = _add.add_s8(a, np.ascontiguousarray(b).reshape(-1), p["a_zp"], p["b_zp"], p["a_mult"], p["a_shift"],
                      p["b_mult"], p["b_shift"], p["out_mult"], p["out_shift"], p["out_zp"], p["act_min"],
                      p["act_max"], LEFT_SHIFT)
    return [out.reshape(shape)]


def run_f32(step: Step, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = step.params
    b = inputs[1] if len(inputs) > 1 else step.consts["other"]
    with np.errstate(**QUIET):
        total = np.asarray(inputs[0], np.float32) + np.asarray(b, np.float32)
    return [clamp(total, p["act_min"], p["act_max"])]


@register
class Add(BinaryOp):
    name = "add"
    tflite = ("ADD",)
    dtypes = WITH_INT32 | {("int16", "int16")}
    kernels = {"add_s8": run_s8, "add_f32": run_f32}

    def params_s8(self, qa: Quant, qb: Quant, qy: Quant, left_shift: int = LEFT_SHIFT) -> dict:
        twice_max = 2.0 * max(qa.s, qb.s)
        m1, s1 = quantize_multiplier_smaller_than_one(qa.s / twice_max)
        m2, s2 = quantize_multiplier_smaller_than_one(qb.s / twice_max)
        mo, so = quantize_multiplier_smaller_than_one(twice_max / ((1 << left_shift) * qy.s))
        return {"left_shift": left_shift, "m1": m1, "s1": s1, "m2": m2, "s2": s2, "mo": mo, "so": so}

    def params_s16(self, qa: Quant, qb: Quant, qy: Quant) -> dict:
        return self.params_s8(qa, qb, qy, LEFT_SHIFT_S16)

    def s8(self, a: np.ndarray, b: np.ndarray, p: dict) -> np.ndarray:
        return mbqm(rescaled(a, p, 1) + rescaled(b, p, 2), p["mo"], p["so"])

    def f32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def i32(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def check_quant(self, qa: Quant, qb: Quant, qy: Quant, node: Node) -> None:
        real = 2.0 * max(qa.s, qb.s) / ((1 << LEFT_SHIFT) * qy.s)
        expect(real < 1.0, node, f"output multiplier {real:g} is not below 1 (the input scales are too large "
                                 "for the output scale, as TFLM's Add requires)")

    def check(self, node: Node, graph: Graph) -> None:
        a, b, y = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
        if is_binary_case(a, b, y):
            super().check(node, graph)
            if y.dtype == "int16":
                qa, qb, qy = (quant(graph, t.name, node) for t in (a, b, y))
                real = 2.0 * max(qa.s, qb.s) / ((1 << LEFT_SHIFT_S16) * qy.s)
                expect(real < 1.0, node, f"output multiplier {real:g} is not below 1 (the input scales are too "
                                         "large for the output scale, as TFLM's int16 Add requires)")
            return
        expect(not a.is_const, node, "the first operand must be an activation (frontends put a constant second)")
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            shape = None
        expect(shape == y.shape, node, f"shapes {list(a.shape)} + {list(b.shape)} do not give {list(y.shape)}")
        expect(b.is_const or a.shape == b.shape, node,
               f"adding activations of different shapes {list(a.shape)} and {list(b.shape)} is not supported")
        expect(a.dtype == b.dtype == y.dtype, node, f"operands {a.dtype} + {b.dtype} -> {y.dtype} differ in dtype")
        activation_of(node)
        if is_int8(graph, node):
            qa, qb, qy = (quant(graph, t.name, node) for t in (a, b, y))
            expect(qb.scale.size == 1, node, "the second operand must be quantized per tensor")
            self.check_quant(qa, qb, qy, node)

    def lower(self, node: Node, graph: Graph) -> Step:
        a, b, y = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
        if is_binary_case(a, b, y):
            return super().lower(node, graph)
        inputs = [a.name] if b.is_const else [a.name, b.name]
        # element-wise over operands of the output's shape: the sum may be written over either one
        step = Step("", node.name, inputs, [y.name], dict(tflm_output_bounds(node, graph)),
                    overwrite=tuple(range(len(inputs))))
        if b.is_const:
            step.consts["other"] = np.ascontiguousarray(np.broadcast_to(b.data, y.shape))
        if not is_int8(graph, node):
            step.kernel = "add_f32"
            return step
        qa, qb, qy = (quant(graph, t.name, node) for t in (a, b, y))
        twice_max = 2.0 * max(qa.s, qb.s)
        a_mult, a_shift = quantize_multiplier_smaller_than_one(qa.s / twice_max)
        b_mult, b_shift = quantize_multiplier_smaller_than_one(qb.s / twice_max)
        out_mult, out_shift = quantize_multiplier_smaller_than_one(twice_max / ((1 << LEFT_SHIFT) * qy.s))
        step.kernel = "add_s8"
        step.params |= {"a_zp": qa.zp, "b_zp": qb.zp, "out_zp": qy.zp, "a_mult": a_mult, "a_shift": a_shift,
                        "b_mult": b_mult, "b_shift": b_shift, "out_mult": out_mult, "out_shift": out_shift,
                        "size": y.size}
        p = step.params
        step.params["linear"] = linear_form(p["a_zp"], p["b_zp"], a_mult, a_shift, b_mult, b_shift, out_mult,
                                            out_shift, p["out_zp"], p["act_min"], p["act_max"])
        return step
