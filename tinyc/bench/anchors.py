"""tinyc beside TensorFlow Lite Micro + CMSIS-NN, measured the same way on the same emulated cores
(``ANCHORS.md`` of the project: TFLM 90b983c2 with CMSIS-NN 4ab83cc3, -O2, GCC 12.2, newlib-nano,
instructions between two markers around one ``Invoke()`` on the all-zero input)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tinyc.bench.baseline import rows_of
from tinyc.bench.markdown import num, table
from tinyc.bench.pair import OK


@dataclass(frozen=True)
class Anchor:
    instructions: int
    code: int  # .text + vectors of engine, kernels and libc, without the harness
    arena: int  # tensor arena used (holds the input and output tensors)
    ram_total: int  # arena + .data/.bss + stack peak


#: model label -> (title, bytes of the .tflite flatbuffer TFLM keeps in flash)
MODELS: dict[str, tuple[str, int]] = {
    "kws_ref_model": ("KWS DS-CNN", 53_936),
    "pretrainedResnet_quant": ("IC ResNet-8", 98_496),
    "ad01_int8": ("AD autoencoder", 276_976),
    "vww_96_int8": ("VWW MobileNetV1", 333_288),
    "str_ww_ref_model": ("streaming wake word", 74_520),
}
#: (model label, core) -> TFLM + CMSIS-NN (reference kernels on rv32imc: there is no CMSIS-NN for RISC-V)
TFLM: dict[tuple[str, str], Anchor] = {
    ("kws_ref_model", "cortex-m4f"): Anchor(7_697_134, 54_260, 22_820, 24_316),
    ("pretrainedResnet_quant", "cortex-m4f"): Anchor(29_858_707, 52_052, 54_996, 56_492),
    ("ad01_int8", "cortex-m4f"): Anchor(582_832, 28_904, 2_580, 3_504),
    ("kws_ref_model", "cortex-m7"): Anchor(7_642_900, 52_404, 22_820, 24_296),
    ("kws_ref_model", "cortex-m55"): Anchor(1_812_890, 45_408, 27_348, 28_976),
    ("kws_ref_model", "rv32imc"): Anchor(44_354_827, 62_224, 22_780, 24_028),
    ("pretrainedResnet_quant", "cortex-m7"): Anchor(30_007_863, 50_452, 54_996, 56_472),
    ("pretrainedResnet_quant", "cortex-m55"): Anchor(4_913_554, 42_136, 55_028, 56_612),
    ("pretrainedResnet_quant", "rv32imc"): Anchor(125_424_155, 66_792, 54_364, 55_612),
    ("ad01_int8", "cortex-m7"): Anchor(583_139, 26_496, 2_580, 3_504),
    ("ad01_int8", "cortex-m55"): Anchor(149_901, 20_940, 9_268, 10_340),
    ("ad01_int8", "rv32imc"): Anchor(2_482_009, 33_834, 2_380, 3_148),
    ("vww_96_int8", "cortex-m4f"): Anchor(24_101_452, 54_260, 100_708, 102_204),
    ("vww_96_int8", "cortex-m7"): Anchor(24_025_067, 52_404, 100_708, 102_184),
    ("vww_96_int8", "cortex-m55"): Anchor(6_557_848, 45_408, 100_772, 102_400),
    ("vww_96_int8", "rv32imc"): Anchor(110_067_182, 62_224, 100_668, 101_916),
    ("str_ww_ref_model", "cortex-m4f"): Anchor(2_227_439, 51_688, 16_596, 17_884),
    ("str_ww_ref_model", "cortex-m7"): Anchor(2_188_528, 49_824, 16_596, 17_880),
    ("str_ww_ref_model", "cortex-m55"): Anchor(407_796, 42_224, 19_956, 21_548),
    ("str_ww_ref_model", "rv32imc"): Anchor(9_563_078, 59_162, 15_276, 16_488),
}
#: the board whose row stands for a core (any other board with that core is used if it is missing)
CORE_BOARDS = {"cortex-m4f": "nucleo-l4r5zi", "cortex-m7": "nucleo-h743zi", "cortex-m55": "corstone-300",
               "rv32imc": "esp32-c3"}
QEMU = {"cortex-m4f": "mps2-an386", "cortex-m7": "mps2-an500", "cortex-m55": "mps3-an547",
        "rv32imc": "riscv32 virt"}


def core_row(rows: list[Mapping[str, Any]], model: str, core: str) -> Mapping[str, Any] | None:
    mine = [r for r in rows if r["model"] == model and r["core"] == core and r["status"] == OK]
    preferred = [r for r in mine if r["board"] == CORE_BOARDS.get(core)]
    return (preferred or mine or [None])[0]


def ratio(a: int | float | None, b: int | float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}"


def tinyc_figures(row: Mapping[str, Any]) -> dict[str, int | float | None]:
    ram = row["ram"]
    return {"instructions": row["instructions"], "instr_per_mac": row["instructions_per_mac"],
            "code": row["flash"]["code"], "weights": row["flash"]["weights"],
            "arena": ram["arena"] + ram["io"], "ram_total": ram["total"]}


def model_table(model: str, row: Mapping[str, Any], anchor: Anchor) -> list[str]:
    """One model on the M4F: metric | tinyc | TFLM | ratio."""
    mine = tinyc_figures(row)
    theirs: dict[str, int | float] = {
        "instructions": anchor.instructions, "instr_per_mac": anchor.instructions / row["macs"],
        "code": anchor.code, "weights": MODELS[model][1], "arena": anchor.arena,
        "ram_total": anchor.ram_total,
    }
    labels = {
        "instructions": "instructions / inference (all-zero input)",
        "instr_per_mac": "instructions / MAC",
        "code": "code (bytes, without the harness)",
        "weights": "weights (tinyc) / whole .tflite flatbuffer (TFLM)",
        "arena": "arena + input/output buffers (tinyc) / arena (TFLM, holds them)",
        "ram_total": "RAM total: static .data/.bss + stack peak (+ I/O for tinyc)",
    }
    body = [[label, num(mine[key]), num(theirs[key]), ratio(mine[key], theirs[key])]
            for key, label in labels.items()]
    head = ("metric", "tinyc", "TFLM + CMSIS-NN", "tinyc / TFLM")
    return table(head, ("---", "---:", "---:", "---:"), body)


def cores_table(rows: list[Mapping[str, Any]]) -> list[str]:
    body = []
    others = [core for core in QEMU if core != "cortex-m4f"]
    for model, core in ((m, c) for m in MODELS for c in others):
        row, anchor = core_row(rows, model, core), TFLM[(model, core)]
        if row is None:
            continue
        mine = tinyc_figures(row)
        cells = [MODELS[model][0], core, f"`{row['board']}`"]
        for key, theirs in (("instructions", anchor.instructions), ("code", anchor.code),
                            ("ram_total", anchor.ram_total)):
            cells += [num(mine[key]), num(theirs), ratio(mine[key], theirs)]
        body.append(cells)
    metrics = ("instr", "code", "RAM")
    head = ("model", "core", "board", *(f"{who} {what}" if who else "ratio"
                                        for what in metrics for who in ("tinyc", "TFLM", "")))
    return table(head, ("---",) * 3 + ("---:",) * 9, body)


NOTES = """
Measured the way ANCHORS.md measures TFLM + CMSIS-NN (TFLM 90b983c2, CMSIS-NN 4ab83cc3, `-O2`, GCC 12.2,
newlib-nano, int8-only op registrations): guest instructions retired between two marker functions around
one inference, counted by a QEMU TCG plugin, on the all-zero input; code = the engine, kernels and
libc/libgcc without the test harness (tinyc's figure also excludes the vector table, TFLM's includes
it); weights = tinyc's weight arrays beside TFLM's whole `.tflite` flatbuffer in flash; RAM = arena +
static .data/.bss + measured stack peak, plus tinyc's input and output buffers (TFLM's arena holds its
input and output tensors). Ratios below 1 mean tinyc needs less. On rv32imc TFLM uses its reference
kernels (there is no CMSIS-NN for RISC-V). On the M55 QEMU counts each MVE instruction as one (it
models no beats), so instruction ratios there are not cycle ratios.
"""


def render_tflm_markdown(matrix: Mapping[str, Any], commands: list[str]) -> str:
    rows = rows_of(matrix)
    out = ["# tinyc beside TFLM + CMSIS-NN", "", "Regenerate with:", "", "```sh", *commands, "```", "",
           " ".join(NOTES.split()), "", "## Cortex-M4F (NUCLEO-L4R5ZI, QEMU mps2-an386)", ""]
    summary = []
    for model, (title, _) in MODELS.items():
        row, anchor = core_row(rows, model, "cortex-m4f"), TFLM[(model, "cortex-m4f")]
        if row is None:
            continue
        mine = tinyc_figures(row)
        summary.append([title, f"{row['macs']:,}", ratio(mine["instructions"], anchor.instructions),
                        ratio(mine["code"], anchor.code), ratio(mine["weights"], MODELS[model][1]),
                        ratio(mine["ram_total"], anchor.ram_total)])
    out += table(("model", "MACs", "instructions", "code", "weights / model data", "RAM total"),
                 ("---", "---:", "---:", "---:", "---:", "---:"), summary)
    out += ["", "tinyc / TFLM + CMSIS-NN on the M4F, per model:"]
    for model, (title, _) in MODELS.items():
        row = core_row(rows, model, "cortex-m4f")
        if row is not None:
            out += ["", f"### {title} (`{model}`), {row['macs']:,} MACs", ""]
            out += model_table(model, row, TFLM[(model, "cortex-m4f")])
    machines = ", ".join(f"{core} on {machine}" for core, machine in QEMU.items() if core != "cortex-m4f")
    out += ["", "## Other cores", "",
            f"The same measurement on the cores of ANCHORS.md's second table ({machines}); ratios are "
            "tinyc / TFLM.", ""]
    out += cores_table(rows)
    return "\n".join(out) + "\n"
