"""One specialised C function per distinct kernel instance, and the call of each step.

Each kernel's template (`templates/<kernel>.c.j2`) prints a function body with every shape and
scalar parameter as a literal, so the compiler folds the geometry; steps whose rendered function
is identical (same kernel, same constants) share one function and differ only in the weight
arrays and buffers they pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jinja2
import numpy as np

from tinyc.codegen.cformat import c_identifier, c_type
from tinyc.codegen.render import template_exists
from tinyc.errors import TinycError
from tinyc.lower.plan import Buffer, Plan, Step

_FN_PLACEHOLDER = "TINYC_FN_PLACEHOLDER"


@dataclass
class Call:
    """One line of the run function: a kernel call or a copy."""

    code: str
    comment: str


@dataclass
class KernelSet:
    env: jinja2.Environment
    plan: Plan
    functions: dict[str, str] = field(default_factory=dict)  # rendered source (placeholder name) -> name
    sources: list[str] = field(default_factory=list)  # function definitions in first-use order
    counts: dict[str, int] = field(default_factory=dict)
    static_scratch: int = 0  # bytes of the static scratch buffer (kernel scratch the plan did not place)

    def function_for(self, step: Step) -> str:
        """Render the step's kernel; return the name of the (possibly shared) C function."""
        if not template_exists(self.env, f"{step.kernel}.c.j2"):
            raise TinycError(f"no C template for kernel '{step.kernel}' (node '{step.node}')")
        template = self.env.get_template(f"{step.kernel}.c.j2")
        graph = self.plan.graph
        ctx = {
            "p": step.params,
            "signature": signature(_FN_PLACEHOLDER, step, self.plan, scratch_need(step)),
            "scratch": scratch_need(step),
            "T_in": c_type(graph.tensor(step.inputs[0]).dtype),
            "T_out": c_type(graph.tensor(step.outputs[0]).dtype),
            "consts": step.consts,
            "size": graph.tensor(step.outputs[0]).size,
        } | extra_context(step, self.plan)
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
    args += [f"const {c_type(a.dtype)} *{r}{c_identifier(k)}" for k, a in step.consts.items()]
    if scratch:
        args.append("int8_t *restrict scratch")
    return f"TINYC_KERNEL void {fn}({', '.join(args)})"


def has_padding(p: dict) -> bool:
    return any(p[k] for k in ("pad_top", "pad_left", "pad_bottom", "pad_right"))


def conv_patches_always(p: dict) -> bool:
    """Copy every window to a dense patch first: when its rows are too short for a fast dot product."""
    return p["k_w"] * p["in_c"] < 16 if p["dil_w"] == 1 else p["in_c"] < 16


def conv_scratch_layout(p: dict) -> tuple[int, int, int]:
    """Bytes of a conv's scratch: im2col patches of two windows (needed only with padding or short rows
    on plain C targets), then, at the returned offset, both windows as int16 pairs (DSP targets)."""
    n = p["k_h"] * p["k_w"] * p["in_c"]
    plain = 2 * n if has_padding(p) or conv_patches_always(p) else 0
    offset = (2 * n + 3) // 4 * 4
    return plain, offset, offset + 2 * (n // 4) * 8


def scratch_need(step: Step) -> int:
    """Bytes of scratch the step's kernel uses (im2col patches; for convs also the int16 expansion of the
    DSP path, whichever build uses it: the buffer is sized for the larger)."""
    p = step.params
    if step.kernel == "conv2d_s8":
        plain, _, simd = conv_scratch_layout(p)
        return max(plain, simd) if p["k_h"] * p["k_w"] * p["in_c"] >= 4 else plain
    if step.kernel == "depthwise_conv2d_s8" and has_padding(p):
        return p["k_h"] * p["k_w"] * p["in_c"]
    return 0


def extra_context(step: Step, plan: Plan) -> dict:
    """Values a template needs that are not step params: derived constants, mostly."""
    if step.kernel == "transpose":
        in_shape = tuple(step.params["in_shape"])
        perm = tuple(step.params["perm"])
        strides = [int(np.prod(in_shape[k + 1:], dtype=np.int64)) for k in range(len(in_shape))]
        return {"out_shape": [in_shape[k] for k in perm], "in_strides": [strides[k] for k in perm]}
    ctx: dict = {}
    if "mult" in step.consts:  # the fast requantization needs multipliers >= 0 (quantize_multiplier's are)
        ctx["requant"] = requant_function(step.consts["mult"], step.consts["shift"])
    if step.kernel == "conv2d_s8":
        plain, offset, _ = conv_scratch_layout(step.params)
        ctx |= {"patch_all": conv_patches_always(step.params), "plain_scratch": plain, "expand_at": offset}
    return ctx


def requant_function(mult: np.ndarray, shift: np.ndarray) -> str:
    """The cheapest exact requantization for these per-channel multipliers and shifts."""
    if not bool(np.all(mult >= 0)):
        return "tinyc_requant_any_s8"
    return "tinyc_requant_r_s8" if bool(np.all(shift <= 0)) else "tinyc_requant_s8"


def buffer_pointer(buf: Buffer, ctype: str, n_inputs: int, n_outputs: int) -> str:
    """The C expression of a tensor's first element, per its planned buffer."""
    if buf.region == "arena":
        return f"({ctype} *)(tinyc_arena + {buf.offset})"
    if buf.region == "input":
        return io_arg("input", buf.index, n_inputs)
    if buf.region == "output":
        return io_arg("output", buf.index, n_outputs)
    raise TinycError(f"unknown buffer region '{buf.region}'")


def io_arg(kind: str, index: int, count: int) -> str:
    return kind if count == 1 else f"{kind}{index}"


def step_calls(kernels: KernelSet, step: Step, step_id: str) -> tuple[list[Call], str | None]:
    """The statements of one step in the run function (none for a reshape that aliases its input),
    and the name of the kernel function it calls."""
    plan = kernels.plan
    graph = plan.graph
    n_in, n_out = len(graph.inputs), len(graph.outputs)

    def ptr(name: str) -> str:
        if name not in plan.buffers:
            raise TinycError(f"tensor '{name}' of node '{step.node}' has no planned buffer "
                             "(run plan_memory first)")
        return buffer_pointer(plan.buffers[name], c_type(graph.tensor(name).dtype), n_in, n_out)

    for name in step.outputs:
        if plan.buffers.get(name, Buffer("arena")).region == "input" and not step.alias:
            raise TinycError(f"node '{step.node}' would write into the caller's input buffer")
    if step.alias:
        src, dst = step.inputs[0], step.outputs[0]
        if plan.buffers.get(src) == plan.buffers.get(dst):
            return [], None
        nbytes = graph.tensor(dst).nbytes
        copy = Call(f"memcpy({ptr(dst)}, {ptr(src)}, {nbytes});", f"{step.node}: {step.kernel} (copy)")
        return [copy], None
    fn = kernels.function_for(step)
    args = [ptr(n) for n in step.inputs] + [ptr(n) for n in step.outputs]
    args += [f"tinyc_w_{step_id}_{c_identifier(k)}" for k in step.consts]
    need = scratch_need(step)
    if need:
        planned = plan.buffers.get(f"{step.node}:scratch")
        if planned is not None and step.scratch >= need:
            args.append(buffer_pointer(planned, "int8_t", n_in, n_out))
        else:
            kernels.static_scratch = max(kernels.static_scratch, need)
            args.append("tinyc_scratch")
    return [Call(f"{fn}({', '.join(args)});", f"{step.node}: {step.kernel}")], fn
