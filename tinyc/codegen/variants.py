"""Which kernel a step gets on a board's core: a sparse step (pruned weights in a compact encoding, chosen at
lowering for its bytes alone) keeps its sparse kernel or goes back to the dense kernel it stands for, by the
optimization goal and the per-core cost model.

The cost model (``cost_model.json``, written by ``benchmarks/cost_model.py``) holds, per core and per kernel
variant (``conv2d:dense``, ``conv2d:runs``, ``fully_connected:mask`` ...), coefficients fitted by non-negative
least squares to instruction counts measured per layer on the emulated core; a layer's predicted instructions
are their dot product with its FEATURES. Both variants give the same bytes (the sparse kernel accumulates the
dense kernel's non-zero products in its order), so the choice changes only speed and flash.

Goals: ``speed`` takes the variant predicted faster, ``size`` the smaller (the lowering's choice),
``balanced`` the sparse one only when its slowdown is at most its flash saving (relative: sparse/dense
instructions - 1 <= 1 - sparse/dense bytes).

On DSP-extension cores the goal also decides, for depthwise 3x3 and pointwise convolutions, between one
specialised function per shape and the compact form, a few functions taking the shape as arguments
(takes_compact), by the same rule on that kernel's code: a model with many shapes (MobileNets) trades some of
their speed for most of their code; one with a single shape keeps its specialised function.

On cores without the DSP extension or Helium, ``speed`` and ``balanced`` read a padded depthwise layer's border
windows in place (one unrolled body per edge and corner: 6-7% fewer instructions for MLPerf's KWS and VWW on the
ESP32-C3, 10-14% more code), ``size`` copies them to a patch. On RISC-V cores it decides whether fully connected
layers take the pair-sums kernel, whose weights take two bytes
each (takes_pair_sums), and whether a layer's input words go to scratch (pair_sums_step): flash and RAM for speed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinyc.boards import CORES
from tinyc.codegen.kernels import (
    compact_table,
    dw_edges_in_place,
    fast_requant,
    fc_pair_sums,
    fc_paired,
    scalar_requant,
)
from tinyc.lower.plan import Plan, Step
from tinyc.ops.conv2d import im2col_needed
from tinyc.ops.depthwise_conv2d import dsp3_plan
from tinyc.ops.sparse_weights import as_dense
from tinyc.options import GOALS

if TYPE_CHECKING:
    from tinyc.boards import Board

DEFAULT_GOAL = "balanced"
COST_MODEL = Path(__file__).with_name("cost_model.json")
# per layer: the products computed (dense: MACs; sparse: stored values x output pixels), the weight positions
# (MACs of the dense layer: what a mask scans), the outputs written, the bytes of windows copied to patches
# (im2col), and one (the call)
FEATURES = ("products", "positions", "outputs", "patch_bytes", "call")
# what sparse_weights.sparsify adds to a step's params
ENCODING_PARAMS = frozenset({"format", "n", "m", "groups", "bits", "index_bytes", "mask_bytes", "stored",
                             "weight_shape", "dense_bytes"})
SPARSE_KERNELS = {"conv2d_sparse_s8": "conv2d", "fully_connected_sparse_s8": "fully_connected"}
# The compact forms of DSP kernels (kernels.compact_table), measured on the M4F over MLPerf VWW's layers: bytes of
# code per specialised function, per shared function, and the shared form's extra instructions over those layers.
# Depthwise 3x3 (13 layers, 9 shapes): short rows put a third or more of their pixels through the border
# function. Pointwise (6 layers, 6 shapes): the second channel's weights one more pointer in the inner loop.
COMPACT = {"depthwise_conv2d_s8": {"specialised": 1400, "shared": 1400, "slowdown": 0.32},
           "conv2d_s8": {"specialised": 860, "shared": 1400, "slowdown": 0.18}}
COMPACT_MIN_SAVING = 2048  # balanced: below this the slowdown buys less than a flash page of most STM32s
PAIR_SUMS_FLASH_SHARE = 8  # balanced: the pair-sums layout's extra weight bytes stay within 1/8 of the flash
PAIR_SUMS_MIN_WORK = 0.5  # balanced: and the fully connected layers do at least half of the model's MACs
# the row's input words (4 bytes a pair) in scratch: at most this share of the model's RAM (arena and I/O); speed
# takes them up to the whole of it
PAIR_WORDS_RAM_SHARE = {"balanced": 4, "speed": 1}


@cache
def cost_model() -> dict[str, dict[str, list[float]]]:
    """core -> variant -> coefficients (one per FEATURES)."""
    return json.loads(COST_MODEL.read_text())["cores"]


def pixels(step: Step) -> int:
    """Output pixels (conv) or rows (fully connected) the step computes."""
    p = step.params
    if "out_h" in p:
        return int(p.get("batches", 1)) * int(p["out_h"]) * int(p["out_w"])
    return int(p["rows"])


def features(step: Step, variant: str) -> np.ndarray:
    """The FEATURES of a sparse step run as `variant` ("dense" or its own sparse format)."""
    rows, k = step.params["weight_shape"][0], int(np.prod(step.params["weight_shape"][1:]))
    n = pixels(step)
    work = n * rows * k if variant == "dense" else n * int(step.params["stored"])
    patches = n * k if "out_h" in step.params and im2col_needed(step.params) else 0
    return np.array([work, n * rows * k, n * rows, patches, 1], np.float64)


def family(step: Step) -> str:
    """conv2d (windows copied to patches), conv2d_1x1 (read in place) or fully_connected."""
    name = SPARSE_KERNELS[step.kernel]
    return "conv2d_1x1" if name == "conv2d" and not im2col_needed(step.params) else name


def predicted(step: Step, core: str) -> tuple[float, float] | None:
    """Predicted instructions of a sparse step on `core`: (dense, sparse); None without a fit for both."""
    fits = cost_model().get(core, {})
    dense, sparse = fits.get(f"{family(step)}:dense"), fits.get(f"{family(step)}:{step.params['format']}")
    if dense is None or sparse is None:
        return None
    return float(features(step, "dense") @ dense), float(features(step, step.params["format"]) @ sparse)


def keeps_sparse(step: Step, core: str, goal: str) -> bool:
    """Whether the sparse step stays sparse on `core` for `goal`."""
    if goal == "size":
        return True
    cost = predicted(step, core)
    if cost is None:  # no measurement for this core: the lowering's choice (bytes)
        return True
    dense, sparse = cost
    if goal == "speed":
        return sparse < dense
    stored = sum(a.nbytes for name, a in step.consts.items() if name not in ("bias", "mult", "shift"))
    return sparse / dense - 1.0 <= 1.0 - stored / step.params["dense_bytes"]


def specialisation(step: Step) -> tuple:
    """What tells two steps' specialised functions apart (the same key: one shared function)."""
    return tuple(sorted((k, repr(v)) for k, v in step.params.items())), repr(scalar_requant(step))


def shared_function(step: Step) -> tuple:
    """Which of its kernel's compact functions the step calls (see the templates' names)."""
    p, full = step.params, step.params["act_min"] == -128 and step.params["act_max"] == 127
    if step.kernel == "conv2d_s8":
        return full, fast_requant(step) is not None
    return full, p["stride_w"], dsp3_plan(step)["generic_rows"]


def takes_compact(steps: list[Step], goal: str, kernel: str) -> bool:
    """Whether the kernel's steps take their compact form (kernels.compact_table: a few functions with the shape
    as arguments instead of one per shape) for `goal`: ``size`` when it saves code, ``balanced`` when the
    relative slowdown (COMPACT) is at most the relative code saving and the saving at least COMPACT_MIN_SAVING
    bytes (MLPerf's streaming wake word would give 11% of its instructions for 1.1 KB), ``speed`` never."""
    eligible = [s for s in steps if s.kernel == kernel and compact_table(s)]
    if goal == "speed" or not eligible:
        return False
    cost = COMPACT[kernel]
    shared = len({shared_function(s) for s in eligible}) * cost["shared"]
    specialised = len({specialisation(s) for s in eligible}) * cost["specialised"]
    if goal == "size":
        return shared < specialised
    return cost["slowdown"] <= 1.0 - shared / specialised and specialised - shared >= COMPACT_MIN_SAVING


def takes_pair_sums(steps: list[Step], board: Board, goal: str) -> bool:
    """Whether the fully connected steps take the pair-sums kernel (kernels.fc_pair_sums_consts: one multiply
    for two products, for RISC-V cores, which have no multiply-accumulate; measured on rv32imc over MLPerf's
    autoencoder, 3.3 -> 2.7 instructions per MAC): its weights take 2 bytes each instead of 1, so ``size``
    never, ``balanced`` where the fully connected layers are most of the work (PAIR_SUMS_MIN_WORK of the MACs:
    a convolutional model would grow by their bytes for next to no speed) and the extra bytes at most
    1/PAIR_SUMS_FLASH_SHARE of the board's flash, ``speed`` always."""
    eligible = [s for s in steps if fc_pair_sums(s)]
    if CORES[board.core] != "riscv" or goal == "size" or not eligible:
        return False
    if goal == "speed":
        return True
    extra = sum(4 * ((s.params["depth"] + 1) // 2) * s.params["units"] - s.consts["weights"].size for s in eligible)
    work = sum(s.macs for s in eligible) / max(sum(s.macs for s in steps), 1)
    return work >= PAIR_SUMS_MIN_WORK and extra * PAIR_SUMS_FLASH_SHARE <= board.flash_bytes


def pair_sums_step(step: Step, plan: Plan, goal: str) -> Step:
    """The fully connected step with the pair-sums kernel, its input pairs' words in scratch where they take at
    most 1/PAIR_WORDS_RAM_SHARE of the model's RAM (measured on rv32imc over MLPerf's autoencoder: 4 instructions
    a pair and pass fewer, for 2 bytes of RAM an input)."""
    words = 4 * ((step.params["depth"] + 1) // 2)
    graph = plan.graph
    ram = plan.arena_size + sum(graph.tensor(n).nbytes for n in (*graph.inputs, *graph.outputs))
    if words * PAIR_WORDS_RAM_SHARE[goal] > ram:
        return replace(step, params=step.params | {"pair_sums": True})
    return replace(step, params=step.params | {"pair_sums": True, "pair_words": True}, scratch=max(step.scratch, words))


def dense_step(step: Step) -> Step:
    """The dense step of a sparse one, without the patch scratch only the sparse kernel declares."""
    dense = as_dense(step)
    dense.params = {k: v for k, v in step.params.items() if k not in ENCODING_PARAMS}
    dense.scratch = 0
    return dense


def for_core(plan: Plan, board: Board | None, goal: str | None = None) -> Plan:
    """`plan` with each sparse step kept or made dense for the board's core and `goal` (default
    DEFAULT_GOAL); the host (no board) keeps the lowering's choice."""
    if board is None:
        return plan
    goal = goal or DEFAULT_GOAL
    steps = [step if step.kernel not in SPARSE_KERNELS or keeps_sparse(step, board.core, goal) else dense_step(step)
             for step in plan.steps]
    if board.kernels == "dsp":  # the paired-unit fully connected kernel: the same bytes, fewer instructions
        steps = [replace(s, params=s.params | {"paired": True}) if fc_paired(s) else s for s in steps]
    if board.kernels == "generic" and goal != "size":  # depthwise border windows in place: code for speed
        steps = [replace(s, params=s.params | {"edges_in_place": True}) if dw_edges_in_place(s) else s for s in steps]
    if takes_pair_sums(steps, board, goal):
        steps = [pair_sums_step(s, plan, goal) if fc_pair_sums(s) else s for s in steps]
    if board.kernels == "dsp":
        compact = {kernel for kernel in COMPACT if takes_compact(steps, goal, kernel)}
        steps = [replace(s, params=s.params | {"compact": True}) if s.kernel in compact and compact_table(s) else s
                 for s in steps]
    if all(a is b for a, b in zip(steps, plan.steps, strict=True)):
        return plan
    return replace(plan, steps=steps)


__all__ = ["GOALS", "for_core", "keeps_sparse", "predicted"]
