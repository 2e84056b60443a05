"""The README's first command ends here: quantize the bundled sine model, compile it to C, and run it
on the reference runtime, on this machine and on an emulated Cortex-M4F (QEMU), printing the results.

    .venv/bin/python examples/demo.py
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "demo"
TINYC = [sys.executable, "-m", "tinyc"]
BOARD = "nucleo-l4r5zi"


def tinyc(*args: str) -> None:
    print("$ tinyc " + " ".join(shlex.quote(a) for a in args), flush=True)
    subprocess.run([*TINYC, *args], check=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    calib = np.linspace(0, 2 * np.pi, 256, dtype=np.float32).reshape(256, 1, 1)
    np.save(OUT / "calib.npy", calib)
    model = OUT / "sine_int8.tflite"
    tinyc("quantize", str(ROOT / "examples" / "sine.onnx"), "--calib", str(OUT / "calib.npy"), "-o", str(model))
    tinyc("compile", str(model), "--board", BOARD, "-o", str(OUT / "sine_c"))
    report = json.loads((OUT / "sine_c" / "report.json").read_text())
    (inp,), (outp,) = report["inputs"], report["outputs"]

    x = np.linspace(0.25, 6.0, 8, dtype=np.float32)
    q = np.clip(np.round(x / inp["scale"]) + inp["zero_point"], -128, 127).astype(np.int8)
    np.save(OUT / "in.npy", q.reshape(8, 1, 1))
    results = {}
    for target in ("ref", "host", BOARD):
        tinyc("run", str(model), "-i", str(OUT / "in.npy"), "-o", str(OUT / f"out_{target}.npy"),
              "--target", target, "--report", str(OUT / f"report_{target}.json"))
        results[target] = np.load(OUT / f"out_{target}.npy").reshape(8)
    board_report = json.loads((OUT / f"report_{BOARD}.json").read_text())

    print(f"\n{'x':>6} {'sin(x)':>8} {'int8 out':>8} {'= y':>8}   same bytes on ref / host / {BOARD}")
    for i, xi in enumerate(x):
        y = results["ref"][i]
        same = all(results[t][i] == y for t in results)
        print(f"{xi:6.2f} {np.sin(xi):8.4f} {y:8d} {(y - outp['zero_point']) * outp['scale']:8.4f}   "
              f"{'yes' if same else 'NO'}")
    instr = board_report["instructions_per_inference"]
    print(f"\n{BOARD} (Cortex-M4F, emulated): {instr[0]:,} instructions per inference, "
          f"flash {board_report['flash']['total']:,} bytes, RAM {board_report['ram']['total']:,} bytes")
    if not all(np.array_equal(results[t], results["ref"]) for t in results):
        sys.exit("the targets disagree")


if __name__ == "__main__":
    main()
