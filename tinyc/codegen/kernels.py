"""One specialised C function per distinct kernel instance, and the call of each step.

Each kernel's template (`templates/<kernel>.c.j2`) prints a function body with every shape and
scalar parameter as a literal, so the compiler folds the geometry; steps whose rendered function
is identical (same kernel, same constants) share one function and differ only in the weight
arrays and buffers they pass.

A function holds the kernel paths of every core (PATHS), chosen by the preprocessor from the
compiler's target macros (see tinyc_fixedpoint.h.j2), so one library builds everywhere: Helium
(`TINYC_MVE`, __ARM_FEATURE_MVE: Cortex-M55/M85), the DSP extension (`TINYC_SIMD32`,
__ARM_FEATURE_DSP: Cortex-M4/M7/M33) and plain C (RISC-V, Cortex-M0/M0+/M3, the host), with some
plain-C loops shaped differently for ARMv6-M's few registers. TINYC_EMULATE_MVE and
TINYC_EMULATE_SIMD32 run the SIMD paths on the host through C versions of their instructions.
The board's `kernels` set only decides which path's scratch size the report states.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jinja2
import numpy as np

from tinyc.codegen.cformat import c_comment, c_identifier, c_type
from tinyc.codegen.render import template_exists
from tinyc.errors import TinycError
from tinyc.lower.plan import Buffer, Plan, Step
from tinyc.memory.views import residual
from tinyc.ops._lut16 import SIGMOID_TABLE_U16
from tinyc.ops.depthwise_conv2d import dsp3_plan

LUT16_TABLE = SIGMOID_TABLE_U16.tolist()  # for templates/_lut16.j2

_FN_PLACEHOLDER = "TINYC_FN_PLACEHOLDER"


@dataclass
class Call:
    """One line of the run function: a kernel call or a copy."""

    code: str
    comment: str  # its comment's text, printed as is: any model text in it has gone through c_comment


@dataclass
class KernelSet:
    env: jinja2.Environment
    plan: Plan
    functions: dict[str, str] = field(default_factory=dict)  # rendered source (placeholder name) -> name
    sources: list[str] = field(default_factory=list)  # function definitions in first-use order
    counts: dict[str, int] = field(default_factory=dict)
    static_scratch: int = 0  # bytes of the static scratch buffer (kernel scratch the plan did not place)
    static_scratch_paths: dict[str, int] = field(default_factory=dict)  # the same per kernel path (PATHS)
    room: int = field(init=False)  # scratch_room(plan)

    def __post_init__(self) -> None:
        self.room = scratch_room(self.plan)

    def function_for(self, step: Step) -> str:
        """Render the step's kernel; return the name of the (possibly shared) C function."""
        if not template_exists(self.env, f"{step.kernel}.c.j2"):
            raise TinycError(f"no C template for kernel '{step.kernel}' (node '{step.node}')")
        template = self.env.get_template(f"{step.kernel}.c.j2")
        graph = self.plan.graph
        ctx = {
            "p": step.params,
            "signature": signature(_FN_PLACEHOLDER, step, self.plan, scratch_need(step, self.room)),
            "scratch": scratch_need(step, self.room),
            "T_in": c_type(graph.tensor(step.inputs[0]).dtype) if step.inputs else None,  # READ_VARIABLE: none
            "T_out": c_type(graph.tensor(step.outputs[0]).dtype) if step.outputs else None,  # ASSIGN_VARIABLE
            "consts": emitted_consts(step),
            "size": graph.tensor(step.outputs[0]).size if step.outputs else None,
        } | extra_context(step, self.plan, self.room)
        text = reindent(template.render(ctx))
        if text not in self.functions:
            n = self.counts.get(step.kernel, 0)
            self.counts[step.kernel] = n + 1
            name = f"tinyc_{step.kernel}_{n}"
            self.functions[text] = name
            self.sources.append(text.replace(_FN_PLACEHOLDER, name))
        return self.functions[text]


def reindent(code: str) -> str:
    """Indent C by brace depth (4 spaces), dropping blank lines: templates need not track indentation."""
    out, depth = [], 0
    for raw in code.splitlines():
        line = raw.strip()
        if not line:
            continue
        lead = depth - 1 if line.startswith("}") else depth
        out.append("    " * max(lead, 0) + line)
        depth += line.count("{") - line.count("}")
    return "\n".join(out) + "\n"


def signature(fn: str, step: Step, plan: Plan, scratch: int) -> str:
    graph = plan.graph
    r = "" if step.inplace else "restrict "  # element-wise steps may write over their input
    args = [f"const {c_type(graph.tensor(n).dtype)} *{r}in{i}" for i, n in enumerate(step.inputs)]
    args += [f"{c_type(graph.tensor(n).dtype)} *{r}out{i}" for i, n in enumerate(step.outputs)]
    args += [f"{c_type(st.dtype)} *restrict state{i}" for i, st in enumerate(step.state)]
    args += [f"const {c_type(a.dtype)} *{r}{c_identifier(k)}" for k, a in emitted_consts(step).items()]
    if scratch:
        args.append("int8_t *restrict scratch")
    return f"TINYC_KERNEL void {fn}({', '.join(args)})"


def has_padding(p: dict) -> bool:
    return any(p[k] for k in ("pad_top", "pad_left", "pad_bottom", "pad_right"))


def conv_patches_always(p: dict) -> bool:
    """Copy every window to a dense patch first: when its rows are too short for a fast dot product."""
    return p["k_w"] * p["in_c"] < 16 if p["dil_w"] == 1 else p["in_c"] < 16


def conv_scratch_layout(p: dict, room: int = 0) -> tuple[int, int, int]:
    """Bytes of a conv's scratch: im2col patches of two windows (needed only with padding or short rows
    on plain C targets), then, at the returned offset, both windows (three with conv_triples) as int16 pairs
    (DSP targets; the offset is 0 where the DSP path needs no byte patches, see conv_expand_at), and the DSP
    path's total."""
    n = p["k_h"] * p["k_w"] * p["in_c"]
    plain = 2 * n if has_padding(p) or conv_patches_always(p) else 0
    offset = conv_expand_at(p)
    triples = conv_triples(p, room)
    if triples == "rows":
        return plain, offset, conv_rows_scratch(p)
    return plain, offset, offset + (3 if triples else 2) * (conv_dsp_values(p) // 4) * 8


def conv_rows_scratch(p: dict) -> int:
    """Bytes of the DSP path's three-pixel passes a kernel row at a time: six int32 sums per output channel
    pair, then the three windows' rows as int16 pairs."""
    return 12 * p["out_c"] + 3 * (p["k_w"] * p["in_c"] // 4) * 8


def conv_triples(p: dict, room: int) -> str:
    """How the DSP path takes three pixels a pass (tinyc_dot3x2_x16), if it does ("" if not): "whole" windows at
    once, of whole words (in_c % 4 == 0) or copied to byte patches widened to them (not read in place nor one
    word a kernel row), or, for in_c % 4 == 0 where those would not fit, one kernel "rows" at a time; with output
    channels in pairs, at least three pixels, and the scratch within `room` bytes (scratch_room: no more RAM
    than two-pixel passes take). A 1x1 conv read in place has its pixels widened to int16 on the DSP path
    anyway: three of them take "whole" from 16 input channels up whatever the room (its scratch grows by
    2 * in_c bytes), none below (there the per-pass widening outweighs the saving: VWW's 8-channel conv_2d_2
    is 6% slower)."""
    direct = p["k_h"] == p["k_w"] == 1 and not has_padding(p)
    whole = p["in_c"] % 4 == 0 or not direct and not conv_rows_one_word(p)
    n, size = p["k_h"] * p["k_w"] * p["in_c"], conv_expand_at(p) + 3 * (conv_dsp_values(p) // 4) * 8
    if not whole or n < 4 or p["out_c"] % 2 or p["out_h"] * p["out_w"] < 3:
        return ""
    if direct:
        return "whole" if p["in_c"] >= 16 else ""
    if size <= room:
        return "whole"
    return "rows" if p["in_c"] % 4 == 0 and p["k_h"] > 1 and conv_rows_scratch(p) <= room else ""


def conv_dsp_values(p: dict) -> int:
    """Values of a window on a conv's DSP path: its byte patches are widened to a multiple of 4 with zeros
    (N4), those read in place or written straight as int16 pairs are the window (see conv2d_s8.c.j2)."""
    n = p["k_h"] * p["k_w"] * p["in_c"]
    if p["k_h"] == p["k_w"] == 1 and not has_padding(p) or p["in_c"] % 4 == 0:
        return n
    return (n + 3) // 4 * 4


def conv_pairs_inside(p: dict) -> float:
    """The share of a conv's pixel pairs (0, 1), (2, 3) ... whose two windows lie inside the input."""
    oy, ox = np.divmod(np.arange(p["out_h"] * p["out_w"] // 2 * 2), p["out_w"])
    iy, ix = oy * p["stride_h"] - p["pad_top"], ox * p["stride_w"] - p["pad_left"]
    inside = (iy >= 0) & (iy + (p["k_h"] - 1) * p["dil_h"] < p["in_h"]) & (ix >= 0) & \
        (ix + (p["k_w"] - 1) * p["dil_w"] < p["in_w"])
    return float((inside[0::2] & inside[1::2]).mean()) if inside.size else 0.0


def conv_rows_one_word(p: dict) -> bool:
    """Whether the DSP path builds every window of a first conv straight as int16 pairs, one word per kernel row
    (tinyc_im2col_w4): kernel rows of exactly 4 contiguous bytes (k_w * in_c == 4, dil_w 1, in_c 1 or 2) and
    input rows of at least 4."""
    return p["k_w"] * p["in_c"] == 4 and p["in_c"] < 4 and p["dil_w"] == 1 and p["in_w"] * p["in_c"] >= 4


def conv_window_words(p: dict) -> list[list[tuple[int, int, int, int]]] | None:
    """How the DSP path builds a window inside the input straight as the words of its byte patch (N4 values,
    the last N4 - N zero) when each kernel row is one contiguous run of at least 4 bytes (dil_w 1): per word,
    its pieces (offset, a, b, c), each the word loaded at `offset` from the window's first byte shifted
    << a >> b << c (unsigned): the load never leaves the kernel row it takes bytes from. None if not so, or
    if fewer than half the pixel pairs are inside (the code would cost more flash than it saves time)."""
    run = p["k_w"] * p["in_c"]
    if p["dil_w"] != 1 or run < 4 or p["in_c"] % 4 == 0 or p["k_h"] == p["k_w"] == 1 and not has_padding(p):
        return None
    if conv_rows_one_word(p):
        return None  # every window by tinyc_im2col_w4
    if conv_pairs_inside(p) < 0.5:
        return None
    n, row = p["k_h"] * run, p["dil_h"] * p["in_w"] * p["in_c"]
    words = []
    for first in range(0, conv_dsp_values(p), 4):
        pieces, i = [], first
        while i < min(first + 4, n):
            ky, col = divmod(i, run)
            count = min(first + 4, n, (ky + 1) * run) - i
            at = min(col, run - 4)  # the word read: inside the row
            o = col - at
            pieces.append((ky * row + at, 32 - 8 * (o + count), 32 - 8 * count, 8 * (i - first)))
            i += count
        words.append(pieces)
    return words


def conv_rv_blocks(p: dict) -> dict | None:
    """How RISC-V's conv path (conv2d_s8.c.j2, 4 output pixels x 4 output channels a pass) reads the windows
    of its pixel groups (pixels 0-3, 4-7 ..., the last group moved back to end at the last pixel): `in_place`
    if some group's four windows are read in the input, at one constant distance from each other (all inside
    it and in one output row, or every window anywhere: `flat`, unpadded with a constant input step per
    output pixel); `patched` if some group's are first copied to scratch: as the band of input they span
    (`band`: its bytes, padding included, when every group lies in one output row, so that the windows are
    read with the in-place code), else as four dense patches; `check` if the kernel must tell which at run
    time. None where the path does not apply (fewer than 4 output pixels, channels or window values)."""
    npix, n = p["out_h"] * p["out_w"], p["k_h"] * p["k_w"] * p["in_c"]
    if npix < 4 or p["out_c"] < 4 or n < 4:
        return None
    flat = not has_padding(p) and p["stride_h"] * p["in_w"] == p["stride_w"] * p["out_w"]
    oy, ox = np.divmod(np.minimum(np.arange(0, npix, 4), npix - 4), p["out_w"])
    iy, ix = oy * p["stride_h"] - p["pad_top"], ox * p["stride_w"] - p["pad_left"]
    inside = (ox + 3 < p["out_w"]) & (iy >= 0) & (iy + (p["k_h"] - 1) * p["dil_h"] < p["in_h"]) & (ix >= 0) & \
        (ix + 3 * p["stride_w"] + (p["k_w"] - 1) * p["dil_w"] < p["in_w"])
    in_place = flat or bool(inside.any())
    patched = not flat and not bool(inside.all())
    span = 3 * p["stride_w"] + (p["k_w"] - 1) * p["dil_w"] + 1  # input columns a group's windows read
    band = p["k_h"] * span * p["in_c"] if patched and p["out_w"] % 4 == 0 else 0
    return {"flat": flat, "in_place": in_place, "patched": patched, "check": in_place and patched, "band": band}


PATHS = ("mve", "dsp", "c", "rv")  # the kernel paths a library holds: Helium, DSP extension, plain C, RISC-V


def scratch_by_path(step: Step, room: int = 0) -> dict[str, int]:
    """Bytes of scratch the step's kernel uses on each path (the build takes one; see scratch_need), the
    DSP path's three-pixel passes within `room` (conv_triples)."""
    p = step.params
    if step.kernel == "conv2d_s8":
        n = p["k_h"] * p["k_w"] * p["in_c"]
        plain, _, dsp = conv_scratch_layout(p, room)
        direct = p["k_h"] == p["k_w"] == 1 and not has_padding(p)  # windows read in place
        rv = conv_rv_blocks(p)
        return {"mve": 0 if direct else 2 * n, "dsp": dsp if n >= 4 else plain, "c": plain,  # mve: window pairs
                "rv": plain if rv is None else rv["band"] or (4 * n if rv["patched"] else 0)}
    if step.kernel == "depthwise_conv2d_s8":
        patch = p["k_h"] * p["k_w"] * p["in_c"] if has_padding(p) else 0
        dsp = 0 if dsp3_plan(step) else patch  # dsp3: padding not copied
        return {"mve": patch, "dsp": dsp, "c": patch, "rv": patch}
    return dict.fromkeys(PATHS, scratch_need(step))


def conv_expand_at(p: dict) -> int:
    """Offset of the DSP path's int16 expansion in a conv's scratch, after two byte patches: 0 when windows
    are read in place, or when in_c % 4 == 0 (the expansion is written straight from the input)."""
    if p["k_h"] == p["k_w"] == 1 and not has_padding(p) or p["in_c"] % 4 == 0:
        return 0
    return 2 * conv_dsp_values(p)


def scratch_need(step: Step, room: int = 0) -> int:
    """Bytes of scratch the step's kernel uses (im2col patches; for convs also the int16 expansion of the
    DSP path, whichever build uses it: the buffer is sized for the largest)."""
    if step.kernel == "conv2d_s8":
        return max(scratch_by_path(step, room).values())
    if step.kernel == "depthwise_conv2d_s8":
        return max(scratch_by_path(step, room).values())
    return step.scratch  # other kernels declare their scratch in the step (e.g. conv2d_sparse_s8)


def scratch_placed(step: Step, plan: Plan, need: int) -> Buffer | None:
    """The arena buffer the plan gave the step's scratch, if it holds `need` bytes (else: static scratch)."""
    planned = plan.buffers.get(f"{step.node}:scratch")
    return planned if planned is not None and step.scratch >= need else None


def scratch_room(plan: Plan) -> int:
    """Bytes of static scratch a DSP build needs without three-pixel conv passes: the room they may take."""
    return max((scratch_by_path(s)["dsp"] for s in plan.steps if (need := scratch_need(s))
                and scratch_placed(s, plan, need) is None), default=0)


def extra_context(step: Step, plan: Plan, room: int) -> dict:
    """Values a template needs that are not step params: derived constants, mostly."""
    if step.kernel == "transpose":
        in_shape = tuple(step.params["in_shape"])
        perm = tuple(step.params["perm"])
        strides = [int(np.prod(in_shape[k + 1:], dtype=np.int64)) for k in range(len(in_shape))]
        return {"out_shape": [in_shape[k] for k in perm], "in_strides": [strides[k] for k in perm]}
    ctx: dict = {"lut16_table": LUT16_TABLE}
    if "mult" in step.consts:  # the fast requantization needs multipliers >= 0 (quantize_multiplier's are)
        ctx["requant"] = requant_function(step.consts["mult"], step.consts["shift"])
        ctx["left_shift"] = bool(np.any(step.consts["shift"] > 0))  # some channel shifts left (rare)
        ctx["fast"] = fast_requant(step)
        ctx["rq_scalar"] = scalar_requant(step)
    if step.kernel == "depthwise_conv2d_s8":
        p = step.params
        ctx["dw_columns"] = lambda np_, patch=False: depthwise_columns(p, np_, patch)
        ctx["dw_dsp3"] = dsp3_plan(step)
        ctx["dw_columns_at"] = lambda np_, stride: depthwise_columns({"k_w": 3, "stride_w": stride, "dil_w": 1}, np_)
        ctx["dw_line"] = depthwise_line(p)
        # Helium's in-place border windows: per output column the column offsets over the edge, per output
        # row (unrolled kernels of up to 7 rows) the kernel rows over it
        edge_cols = edge_windows(p["in_w"], p["out_w"], p["k_w"], p["stride_w"], p["dil_w"], p["pad_left"])
        ctx["dw_edge_cols"] = [(ox, [kx * p["dil_w"] for kx in taps], first) for ox, taps, first in edge_cols]
        ctx["dw_edge_col_taps"] = edge_cols  # the same with the taps as indices (the plain C path's)
        ctx["dw_edge_rows"] = edge_windows(p["in_h"], p["out_h"], p["k_h"], p["stride_h"], p["dil_h"],
                                           p["pad_top"]) if p["k_h"] <= 7 else []
    ctx["compact_table"] = compact_table(step) if step.params.get("compact") else None
    if step.kernel == "add_s8":
        ctx["fast"] = add_fast(step.params)
    if step.kernel == "fully_connected_s8":
        ctx["pass_pairs"] = FC_PASS_PAIRS
        ctx["pair_sums_units"] = FC_PAIR_SUMS_UNITS
    if step.kernel == "conv2d_s8":
        plain = conv_scratch_layout(step.params)[0]
        ctx |= {"patch_all": conv_patches_always(step.params), "plain_scratch": plain,
                "expand_at": conv_expand_at(step.params), "window_words": conv_window_words(step.params),
                "rows_one_word": conv_rows_one_word(step.params), "triples": conv_triples(step.params, room),
                "rv_blocks": conv_rv_blocks(step.params),
                "fold_zp": True}  # _requant.j2: out_zp in the rounding constant
    return ctx


COMPACT_KERNELS = ("conv2d_s8", "depthwise_conv2d_s8")


def compact_table(step: Step) -> list[int] | None:
    """The shape table of the DSP-path function every layer of its kind shares, the step's compact form (its own
    function then only calls it), or None where there is none. Depthwise 3x3 as dsp3_plan takes it, 4 |
    channels, a horizontal stride of 1 or 2 (tinyc_dw3_image_s1 / _s2 in _depthwise_dsp.j2); a pointwise conv
    (1x1, stride 1, unpadded) of 3 or more pixels, 16 or more input channels in whole words and an even number
    of output channels (tinyc_pw3_s8 in tinyc_fixedpoint.h.j2). Depthwise with the fast requantization, pointwise
    with it or with tinyc_requant_r_s8 (no left shifts)."""
    p = step.params
    if step.kernel not in COMPACT_KERNELS or "mult" not in step.consts:
        return None
    if step.kernel == "conv2d_s8":
        if not fast_requant(step) and requant_function(step.consts["mult"], step.consts["shift"]) != \
                "tinyc_requant_r_s8":
            return None
        pointwise = p["k_h"] == p["k_w"] == 1 and not has_padding(p) and p["stride_h"] == p["stride_w"] == 1
        if not pointwise or p["in_c"] % 4 or p["in_c"] < 16 or p["out_c"] % 2 or p["out_h"] * p["out_w"] < 3:
            return None
        return [p["out_h"] * p["out_w"], p["in_c"], p["out_c"], p["out_zp"], p["act_min"], p["act_max"]]
    plan = dsp3_plan(step)
    if plan is None or not fast_requant(step) or p["out_c"] % 4 or p["stride_w"] not in (1, 2):
        return None
    x0, stop = plan["interior"]
    phases = [v for phase in plan["phases"] for v in phase]
    return [p["in_h"], p["in_w"], p["in_c"], p["out_h"], p["out_w"], p["stride_h"], p["pad_top"], p["pad_left"],
            x0, stop, p["out_zp"], p["act_min"], p["act_max"], p["in_zp"], len(plan["phases"]), *phases]


def depthwise_columns(p: dict, pixels: int, patch: bool = False) -> list[tuple[int, list[tuple[int, int]]]]:
    """The input columns (in pixels from the first window's left edge) that `pixels` neighbouring windows
    of one kernel row read, in order, each with the (pixel, kx) taps that read it; for one window's dense
    patch (`patch`), column kx is tap kx."""
    cols: dict[int, list[tuple[int, int]]] = {}
    for q in range(pixels):
        for kx in range(p["k_w"]):
            col = kx if patch else q * p["stride_w"] + kx * p["dil_w"]
            cols.setdefault(col, []).append((q, kx))
    return sorted(cols.items())


def edge_windows(size: int, outputs: int, taps: int, stride: int, dilation: int, pad: int,
                 ) -> list[tuple[int, list[int], int]]:
    """Along one axis, the outputs whose window crosses an edge but reads some input: (output, the taps
    outside the input, the first input position read)."""
    found = []
    for o in range(outputs):
        at = [o * stride - pad + k * dilation for k in range(taps)]
        inside = [a for a in at if 0 <= a < size]
        if inside and len(inside) < taps:
            found.append((o, [k for k, a in enumerate(at) if not 0 <= a < size], inside[0]))
    return found


def dw_edges_in_place(step: Step) -> bool:
    """Whether a depthwise step's plain C path can read its border windows in place (templates/
    depthwise_conv2d_s8.c.j2 plain_rows): padded, taps unrolled (at most 25), not a 1-D window."""
    p = step.params
    return (step.kernel == "depthwise_conv2d_s8" and has_padding(p) and p["k_h"] * p["k_w"] <= 25
            and depthwise_line(p) is None)


def depthwise_line(p: dict) -> dict | None:
    """A depthwise layer over one axis (a K x 1 kernel over a W = 1 input, or 1 x K over H = 1; multiplier 1,
    two outputs or more, K <= 25): its `length` (outputs), `taps`, `stride`, `dilation`, `pad` (before), the
    outputs [lo, hi) whose windows lie inside the input, and `positions[q]`: the input positions (relative
    to a pass's first window) that q neighbouring outputs read, in the order of their first use."""
    if p["k_w"] == 1 and p["in_w"] == 1 and p["out_w"] == 1:
        size, length, taps, stride, dil, pad = p["in_h"], p["out_h"], p["k_h"], p["stride_h"], p["dil_h"], p["pad_top"]
    elif p["k_h"] == 1 and p["in_h"] == 1 and p["out_h"] == 1:
        size, length, taps, stride, dil, pad = p["in_w"], p["out_w"], p["k_w"], p["stride_w"], p["dil_w"], p["pad_left"]
    else:
        return None
    if p["depth_multiplier"] != 1 or length < 2 or taps > 25:
        return None
    lo = min(-(-pad // stride), length)
    hi = max(lo, min(length, (size - 1 - (taps - 1) * dil + pad) // stride + 1))
    positions = {q: list(dict.fromkeys(j * stride + k * dil for k in range(taps) for j in range(q))) for q in (1, 2, 4)}
    return {"length": length, "taps": taps, "stride": stride, "dilation": dil, "pad": pad, "lo": lo, "hi": hi,
            "positions": positions}


SCALAR_REQUANT_KERNELS = ("conv2d_s8", "fully_connected_s8", "depthwise_conv2d_s8")


def scalar_requant(step: Step) -> dict | None:
    """The one multiplier and shift of a layer whose output channels all share them (per-tensor weight
    scale), which its kernel then holds as literals instead of reading `mult` and `shift` arrays (those
    stay in the step for the reference runtime but are not emitted, see emitted_consts); None if not, and
    for a paired fully connected step (which reads them from one-element arrays: then layers of one shape
    share one function, its code several times the literals' few instructions)."""
    if step.kernel not in SCALAR_REQUANT_KERNELS or "mult" not in step.consts or "shift" not in step.consts:
        return None
    if step.params.get("paired"):
        return None
    mult, shift = np.asarray(step.consts["mult"]), np.asarray(step.consts["shift"])
    if mult.size == 0 or not (np.all(mult == mult.flat[0]) and np.all(shift == shift.flat[0])):
        return None
    m, s = int(mult.flat[0]), int(shift.flat[0])
    zp = int(step.params.get("out_zp", 0))
    e = -s
    k = (1 << (e - 1)) + zp * (1 << e) if 1 <= e <= 23 else None  # tinyc_rq_fast's constant (fast path)
    return {"m": m, "shift": s, "e": e, "k": k}


def emitted_consts(step: Step) -> dict[str, np.ndarray]:
    """The constant arrays the generated C holds for a step: its consts less the multipliers and shifts
    of a per-tensor requantization (literals in the kernel, see scalar_requant), a paired fully connected
    step's weights in their layout (fc_paired_weights), a pair-sums step's words and bias (fc_pair_sums_consts)."""
    consts = step.consts
    if step.params.get("pair_sums"):
        consts = consts | fc_pair_sums_consts(step)
    if step.params.get("paired"):
        consts = consts | {"weights": fc_paired_weights(consts["weights"])}
        if fast_requant(step)["uniform"]:  # one multiplier and shift: their first elements (see scalar_requant)
            consts |= {"mult": consts["mult"][:1], "shift": consts["shift"][:1]}
    if scalar_requant(step) is None:
        return consts
    return {k: a for k, a in consts.items() if k not in ("mult", "shift")}


FC_PASS_PAIRS = 3  # unit pairs a pass of the paired fully connected kernel takes (six sums in registers)


def fc_paired(step: Step) -> bool:
    """Whether an int8 fully connected step can take the DSP paired-unit kernel (templates/fully_connected_s8
    .c.j2): whole words of input (depth % 4 == 0), units in pairs, the fast requantization, each pair's second
    unit within 2**23 in magnitude (|bias| + 128 * sum |w|: 256 times it fits int32), and no halfword below
    int16 (a second unit's -128 beside a negative first-unit weight; TFLite's int8 weights stop at -127)."""
    p = step.params
    if step.kernel != "fully_connected_s8" or p["depth"] % 4 or p["units"] % 2 or not fast_requant(step):
        return False
    w = step.consts["weights"].astype(np.int64).reshape(p["units"], p["depth"])
    a, b = w[0::2], w[1::2]
    bound = np.abs(step.consts["bias"].astype(np.int64)[1::2]) + 128 * np.abs(b).sum(axis=1)
    return bool(bound.max() < 2**23 and not np.any((b == -128) & (a < 0)))


def fc_paired_weights(weights: np.ndarray) -> np.ndarray:
    """[units][depth] int8 weights laid out for the paired kernel, same bytes: units in pairs (A = 2p, B = 2p
    + 1), pairs in passes of FC_PASS_PAIRS (the last one fewer); per pass, per group of 4 inputs k..k+3, per
    pair, two words of halfwords: (k, k+2) and (k+1, k+3), the halves SXTB16 and its 8-bit rotation make of
    an input word. A halfword is A's byte (low) and B's minus A's sign (high, the borrow of a negative low
    byte), so that its int16 value is A + 256 B and SXTB16 of it is A (see fc_paired)."""
    units, depth = weights.shape[0], int(np.prod(weights.shape[1:]))
    w = weights.reshape(units, depth).astype(np.int16)
    a, b = w[0::2], w[1::2] - (w[0::2] < 0)
    pairs, groups = units // 2, depth // 4
    # [pair][group][lane (k % 4 // 2)][word (k % 2)][byte: A, B] -> [pair][group][word][lane][byte]
    packed = np.stack([a.reshape(pairs, groups, 2, 2), b.reshape(pairs, groups, 2, 2)], axis=-1).astype(np.int8)
    packed = packed.transpose(0, 1, 3, 2, 4).reshape(pairs, groups, 8)
    passes = [packed[p:p + FC_PASS_PAIRS].transpose(1, 0, 2).reshape(-1) for p in range(0, pairs, FC_PASS_PAIRS)]
    return np.concatenate(passes)


FC_PAIR_SUMS_UNITS = 20  # units a pass of the pair-sums fully connected kernel takes (its sums in registers)
FC_PAIR_SUMS_MIN_UNITS, FC_PAIR_SUMS_MIN_WEIGHTS = 8, 1024  # smaller layers: the plain kernel


def fc_pair_sums(step: Step) -> bool:
    """Whether an int8 fully connected step can take the pair-sums kernel (templates/fully_connected_s8.c.j2):
    a dense int8 layer with the fast requantization (fused in the pass), of at least FC_PAIR_SUMS_MIN_UNITS units
    and FC_PAIR_SUMS_MIN_WEIGHTS weights (below, the row's sum and the passes' calls cost more than the multiplies
    save: TFLM's hello_world, 16 x 16, would take 7% more instructions)."""
    p = step.params
    return (step.kernel == "fully_connected_s8" and p["units"] >= FC_PAIR_SUMS_MIN_UNITS
            and p["units"] * p["depth"] >= FC_PAIR_SUMS_MIN_WEIGHTS and fast_requant(step) is not None)


def fc_pair_sums_consts(step: Step) -> dict[str, np.ndarray]:
    """A pair-sums step's weights and bias. Winograd's inner product: for inputs (x0, x1) and one unit's weights
    (w0, w1), (x0 + w1 + 256)(x1 + w0 + 256) = (x0 + 128)(w0 + 128) + (x1 + 128)(w1 + 128) + (x0 + 128)(x1 + 128)
    + (w0 + 128)(w1 + 128): one multiply for two products, the inputs' terms once per row (the kernel's row sum of
    (x0 + 256)(x1 + 256) = (x0 + 128)(x1 + 128) + 128 (x0 + x1) + 49152), the weights' terms, 128 x their sum,
    16384 x the depth and the 49152s in the bias. Per pass of up to FC_PAIR_SUMS_UNITS units, per input pair, per
    unit, the word w1 + 256 + ((w0 + 256) << 20) the input word x0 + (x1 << 20) adds to (two lanes of 0..510); an
    odd depth's last input pairs with x1 = w1 = -128."""
    p = step.params
    units, depth = p["units"], p["depth"]
    w = step.consts["weights"].reshape(units, depth).astype(np.int64)
    padded = np.concatenate([w, np.full((units, depth % 2), -128, np.int64)], axis=1)
    w0, w1 = padded[:, 0::2], padded[:, 1::2]
    words = w1 + 256 + ((w0 + 256) << 20)  # [unit][pair]
    passes = [words[u:u + FC_PAIR_SUMS_UNITS].T.reshape(-1) for u in range(0, units, FC_PAIR_SUMS_UNITS)]
    full = w[:, :depth - depth % 2]
    bias = (step.consts["bias"].astype(np.int64) - ((full[:, 0::2] + 128) * (full[:, 1::2] + 128)).sum(axis=1)
            - 128 * w.sum(axis=1) - 16384 * depth + 49152 * (depth // 2))
    return {"weights": np.concatenate(passes).astype(np.int32),
            "bias": ((bias + 2**31) % 2**32 - 2**31).astype(np.int32)}


CHANNEL_AXIS = {"conv2d_s8": 0, "fully_connected_s8": 0, "depthwise_conv2d_s8": -1}


def fast_requant(step: Step) -> dict | None:
    """Whether the scalar paths may requantize with tinyc_rq_fast (exact for every output channel of the step:
    multipliers >= 0, right shifts e in 1..23 and |accumulator| < 2**29 for any int8 input, |bias| + 128 *
    sum |w| per channel), and whether all channels share multiplier and shift (`uniform`); None if not."""
    axis = CHANNEL_AXIS.get(step.kernel)
    if axis is None or "weights" not in step.consts:
        return None
    mult = step.consts["mult"].astype(np.int64)
    e = -step.consts["shift"].astype(np.int64)
    if not (np.all(mult >= 0) and np.all(e >= 1) and np.all(e <= 23)):
        return None
    w = np.abs(np.moveaxis(step.consts["weights"].astype(np.int64), axis, 0))
    bound = np.abs(step.consts["bias"].astype(np.int64)) + 128 * w.reshape(w.shape[0], -1).sum(axis=1)
    if bound.max() >= 2**29:
        return None
    return {"uniform": bool(np.all(mult == mult[0]) and np.all(e == e[0]))}


def add_fast(p: dict) -> dict | None:
    """The constants of tinyc_rq_fast for an int8 addition's output requantization, if exact: each rescaled
    input is at most 255 * 2**20 < 2**28 in magnitude (multipliers below one), so their sum is below 2**29;
    the output multiplier must be >= 0 and its right shift e in 1..23."""
    e = -int(p["out_shift"])
    if not (1 <= e <= 23 and p["out_mult"] >= 0 and p["a_shift"] <= 0 and p["b_shift"] <= 0):
        return None
    return {"e": e, "k": (1 << (e - 1)) + p["out_zp"] * (1 << e)}


def requant_function(mult: np.ndarray, shift: np.ndarray) -> str:
    """The cheapest exact requantization for these per-channel multipliers and shifts."""
    if not bool(np.all(mult >= 0)):
        return "tinyc_requant_any_s8"
    return "tinyc_requant_r_s8" if bool(np.all(shift <= 0)) else "tinyc_requant_s8"


def buffer_pointer(buf: Buffer, ctype: str, n_inputs: int, n_outputs: int) -> str:
    """The C expression of a tensor's first element, per its planned buffer (a view sits at a byte offset).
    Arena and state pointers are offsets from the run function's `arena` / `state`, the static arrays' addresses
    hidden from the compiler (model.c.j2 says why)."""
    if buf.region == "arena":
        return f"({ctype} *)(arena + {buf.offset})"
    if buf.region in ("input", "output"):
        arg = io_arg(buf.region, buf.index, n_inputs if buf.region == "input" else n_outputs)
        if not buf.offset:
            return arg
        const = "const " if buf.region == "input" else ""
        return f"({const}{ctype} *)(({const}uint8_t *){arg} + {buf.offset})"
    if buf.region == "state":
        return f"({ctype} *)(state + {buf.offset})"
    raise TinycError(f"unknown buffer region '{buf.region}'")


def io_arg(kind: str, index: int, count: int) -> str:
    return kind if count == 1 else f"{kind}{index}"


def step_calls(kernels: KernelSet, step: Step, step_id: str) -> tuple[list[Call], str | None]:
    """The statements of one step in the run function (none for a reshape that aliases its input or a copy
    that the memory plan's views make a no-op), and the name of the kernel function it calls."""
    plan = kernels.plan
    graph = plan.graph
    n_in, n_out = len(graph.inputs), len(graph.outputs)

    def ptr(name: str) -> str:
        if name not in plan.buffers:
            raise TinycError(f"tensor '{name}' of node '{step.node}' has no planned buffer "
                             "(run plan_memory first)")
        return buffer_pointer(plan.buffers[name], c_type(graph.tensor(name).dtype), n_in, n_out)

    step = residual(step)  # a copy less the blocks its views and in-place parts make no-ops
    if step is None:
        return [], None
    for name in step.outputs:
        if plan.buffers.get(name, Buffer("arena")).region == "input" and not step.alias:
            raise TinycError(f"node '{step.node}' would write into the caller's input buffer")
    if step.alias:
        src, dst = step.inputs[0], step.outputs[0]
        if plan.buffers.get(src) == plan.buffers.get(dst):
            return [], None
        nbytes = graph.tensor(dst).nbytes
        copy = Call(f"memcpy({ptr(dst)}, {ptr(src)}, {nbytes});", f"{c_comment(step.node)}: {step.kernel} (copy)")
        return [copy], None
    fn = kernels.function_for(step)
    args = [ptr(n) for n in step.inputs] + [ptr(n) for n in step.outputs]
    args += [buffer_pointer(plan.buffers[st.name], c_type(st.dtype), n_in, n_out) for st in step.state]
    args += [f"tinyc_w_{step_id}_{c_identifier(k)}" for k in emitted_consts(step)]
    need = scratch_need(step, kernels.room)
    if need:
        planned = scratch_placed(step, plan, need)
        if planned is not None:
            args.append(buffer_pointer(planned, "int8_t", n_in, n_out))
        else:
            kernels.static_scratch = max(kernels.static_scratch, need)
            for path, size in scratch_by_path(step, kernels.room).items():
                kernels.static_scratch_paths[path] = max(kernels.static_scratch_paths.get(path, 0), size)
            args.append("tinyc_scratch")
    return [Call(f"{fn}({', '.join(args)});", f"{c_comment(step.node)}: {step.kernel}")], fn
