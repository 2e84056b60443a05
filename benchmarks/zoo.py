"""The models people deploy with TFLM (../shared/models/zoo): ops, byte equality with TFLM on ref and host,
and instructions, flash and RAM on the emulated Cortex-M4F and rv32imc boards.

    python benchmarks/zoo.py [--inputs 200] [-o benchmarks/zoo.md]

Equality: N random inputs per model (integers uniform over their dtype, floats over several magnitudes), each
an independent inference (TFLM reset before each), every output compared byte for byte. Instructions: the
first of the random inputs on each board, counted exactly by tinyc's QEMU plugin.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import tflm_run  # noqa: E402
from tests.test_zoo import random_inputs  # noqa: E402
from tinyc.atomic import write_text  # noqa: E402
from tinyc.pipeline import build_plan, run_model  # noqa: E402

ZOO = ROOT.parent / "shared" / "models" / "zoo"
BOARDS = ("nucleo-l4r5zi", "esp32-c3")
OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}


def tflite_ops(path: Path) -> list[str]:
    """The operators of the file as TFLite names them (custom codes for custom ops)."""
    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    names = set()
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)
        for k in range(sub.OperatorsLength()):
            code = model.OperatorCodes(sub.Operators(k).OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            names.add(code.CustomCode().decode() if builtin == BuiltinOperator.CUSTOM else OP_NAMES[builtin])
    return sorted(names)


def equal_rows(a: list[np.ndarray], b: list[np.ndarray], n: int) -> int:
    same = np.ones(n, dtype=bool)
    for x, y in zip(a, b, strict=True):
        same &= np.all(x.reshape(n, -1).view(np.uint8) == y.reshape(n, -1).view(np.uint8), axis=1)
    return int(same.sum())


def measure(path: Path, n: int) -> dict:
    plan = build_plan(path)
    x = random_inputs(plan.graph, n, seed=sum(map(ord, path.stem)))
    ref, _ = run_model(plan, x, "ref")
    host, _ = run_model(plan, x, "host")
    theirs = tflm_run(path, x, len(plan.graph.outputs))
    row = {"model": path.stem, "ops": tflite_ops(path), "macs": sum(s.macs for s in plan.steps), "n": n,
           "ref_tflm": equal_rows(ref, theirs, n), "host_ref": equal_rows(host, ref, n)}
    for board in BOARDS:
        ours, report = run_model(plan, [a[:1] for a in x], board)
        row[board] = {"equal": equal_rows(ours, [r[:1] for r in ref], 1),
                      "instr": report["instructions_per_inference"][0],
                      "flash": report["flash"]["total"], "ram": report["ram"]["total"]}
    return row


def markdown(rows: list[dict]) -> str:
    out = ["| model | TFLite ops | MACs | ref = TFLM | host = ref | M4F instructions | M4F flash / RAM (B) "
           "| rv32imc instructions | boards = ref |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        m4, rv = r["nucleo-l4r5zi"], r["esp32-c3"]
        boards = f"{m4['equal'] + rv['equal']}/2"
        out.append(f"| `{r['model']}` | {', '.join(r['ops'])} | {r['macs']:,} | {r['ref_tflm']}/{r['n']} | "
                   f"{r['host_ref']}/{r['n']} | {m4['instr']:,} | {m4['flash']:,} / {m4['ram']:,} | {rv['instr']:,} "
                   f"| {boards} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=200)
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks" / "zoo.md")
    args = ap.parse_args()
    rows = []
    for path in sorted(ZOO.glob("*.tflite")):
        print(f"{path.name} ...", file=sys.stderr, flush=True)
        rows.append(measure(path, args.inputs))
    head = (f"# The TFLM zoo models\n\n`python benchmarks/zoo.py --inputs {args.inputs}`: {args.inputs} random "
            "inputs per model, each an independent inference; instructions, flash (code + weights) and RAM "
            "(arena, static data, stack peak, I/O) for one inference on the emulated boards.\n\n")
    write_text(args.output, head + markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
