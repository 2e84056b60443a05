"""Per-op results of ONNX's backend node tests through tinyc (tests/test_onnx_backend.py), as Markdown.

Runs the test file once with pytest (reference runtime and host C), reads its JUnit XML and counts per ONNX op
type: passed, unsupported (skipped with tinyc's error) and wrong (failed), over the selected cases.

    .venv/bin/python benchmarks/onnx_backend_table.py [-o benchmarks/onnx_backend.md] [-k EXPR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"OnnxBackendNodeModelTest": "ref", "HostOnnxBackendNodeModelTest": "host"}


def op_types() -> dict[str, str]:
    """Case name -> the ONNX op(s) its graph runs (Constant nodes left out)."""
    from onnx.backend.test.loader import load_model_tests

    ops = {}
    for case in load_model_tests(kind="node"):
        nodes = [n.op_type for n in case.model.graph.node if n.op_type != "Constant"] if case.model else []
        ops[case.name] = "+".join(dict.fromkeys(nodes)) or case.name
    return ops


def outcome(case: ET.Element) -> str | None:
    """passed / unsupported / wrong, or None for a case outside the selection."""
    skipped = case.find("skipped")
    if skipped is not None:
        return "unsupported" if "unsupported:" in (skipped.get("message") or "") else None
    if case.find("failure") is not None or case.find("error") is not None:
        return "wrong"
    return "passed"


def run(expr: str | None) -> tuple[dict[str, dict[str, Counter]], float]:
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "tests/test_onnx_backend.py", "-q", "-n", "0", "-p", "no:randomly",
               f"--junitxml={xml}"] + (["-k", expr] if expr else [])
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        tree = ET.parse(xml)
    ops = op_types()
    table: dict[str, dict[str, Counter]] = defaultdict(lambda: {t: Counter() for t in TARGETS.values()})
    for case in tree.iter("testcase"):
        target = TARGETS.get(case.get("classname", "").rsplit(".", 1)[-1])
        result = outcome(case)
        if target is None or result is None:
            continue
        name = case.get("name", "").removesuffix("_cpu")
        table[ops.get(name, name)][target][result] += 1
    return table, seconds


def markdown(table: dict[str, dict[str, Counter]], seconds: float) -> str:
    cols = ("passed", "unsupported", "wrong")
    lines = ["| ONNX op | cases | ref passed | ref unsupported | ref wrong | host passed | host unsupported "
             "| host wrong |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    total = {t: Counter() for t in TARGETS.values()}
    for op in sorted(table):
        row = table[op]
        for t in total:
            total[t].update(row[t])
        cases = max(sum(row[t].values()) for t in row)
        lines.append(f"| {op} | {cases} | " + " | ".join(str(row[t][c]) for t in ("ref", "host") for c in cols) + " |")
    cases = max(sum(total[t].values()) for t in total)
    lines.append(f"| **all** | **{cases}** | " + " | ".join(f"**{total[t][c]}**" for t in ("ref", "host")
                                                          for c in cols) + " |")
    ref = total["ref"]
    share = 100 * ref["passed"] / max(sum(ref.values()), 1)
    lines.append("")
    lines.append(f"Reference runtime: {ref['passed']} of {sum(ref.values())} selected cases pass ({share:.1f}%), "
                 f"{ref['wrong']} wrong; host C: {total['host']['passed']} pass, {total['host']['wrong']} wrong. "
                 f"Measured by `benchmarks/onnx_backend_table.py` (pytest run: {seconds:.0f} s).")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks" / "onnx_backend.md")
    ap.add_argument("-k", dest="expr", help="pytest -k expression (a subset of the cases)")
    args = ap.parse_args()
    text = markdown(*run(args.expr))
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
