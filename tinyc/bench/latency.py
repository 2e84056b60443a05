"""Estimated latency in milliseconds: exact instructions x the board's cycles per instruction (CPI) for the
kernel class / clock. Each board file states its CPI figures and where they come from::

    latency:
      cpi: {int8: 1.3, float32: 1.6}
      source: "Arm Cortex-M4 TRM (DDI 0439B) ..."

Boards without the block (the Xtensa ones, not emulated here) get no estimate (None). These are estimates
from published core figures, not measurements: memory wait states, caches and bus contention are not modelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tinyc.errors import TinycError

CLASSES = ("int8", "float32")


def kernel_class(kernel: str) -> str:
    """``float32`` for kernels computing in float (f32, hybrid), else ``int8`` (integer arithmetic)."""
    return "float32" if "f32" in kernel or "hybrid" in kernel or "float" in kernel else "int8"


def _latency_block(path: Path) -> tuple[dict[str, float], str]:
    block = (yaml.safe_load(path.read_text()) or {}).get("latency")
    if block is None:
        return {}, ""
    cpi, source = (block.get("cpi"), block.get("source")) if isinstance(block, dict) else (None, None)
    if (not isinstance(cpi, dict) or set(cpi) != set(CLASSES) or not isinstance(source, str) or not source
            or not all(isinstance(v, int | float) and 0 < v < 100 for v in cpi.values())):
        raise TinycError(f"{path}: latency: must be a mapping with cpi: {{int8: N, float32: N}} (positive) and "
                         "a non-empty source")
    return {k: float(cpi[k]) for k in CLASSES}, " ".join(source.split())


def board_cpi(board: Any) -> dict[str, float]:
    """The board's CPI per kernel class ({} when its file states none)."""
    return _latency_block(Path(board.path))[0]


def cpi_source(board: Any) -> str:
    return _latency_block(Path(board.path))[1]


def estimate_ms(instructions: int | None, board: Any, cls: str = "int8") -> float | None:
    """Estimated milliseconds of ``instructions`` of kernel class ``cls`` at the board's clock."""
    cpi = board_cpi(board)
    if instructions is None or not cpi:
        return None
    return instructions * cpi[cls] / (board.clock_mhz * 1e3)


def model_cpi(plan: Any, board: Any) -> float | None:
    """One CPI for a whole model: the classes' figures weighted by the MACs of its steps (int8 without MACs)."""
    cpi = board_cpi(board)
    if not cpi:
        return None
    weights = {cls: 0 for cls in CLASSES}
    for step in plan.steps:
        weights[kernel_class(step.kernel)] += step.macs
    total = sum(weights.values())
    return cpi["int8"] if not total else sum(cpi[c] * w for c, w in weights.items()) / total


def latency_note(board: Any) -> str:
    """How a board's ms estimates are made, for reports."""
    cpi = board_cpi(board)
    figures = ", ".join(f"{k} {v:g}" for k, v in cpi.items())
    return (f"ms are an estimate: instructions x cycles per instruction by kernel class ({figures}) / "
            f"{board.clock_mhz} MHz; source: {cpi_source(board)}")


def model_ms(instructions: int | None, plan: Any, board: Any) -> float | None:
    """Estimated milliseconds of a whole inference: ``instructions`` x :func:`model_cpi` / clock."""
    cpi = model_cpi(plan, board)
    if instructions is None or cpi is None:
        return None
    return round(instructions * cpi / (board.clock_mhz * 1e3), 3)
