"""Wall time of `tinyc bench --jobs 1` against `--jobs 2` on the same small matrix (KWS and AD on four
emulated boards, 4 random inputs + the all-zero one per pair; alternated, best of two), and whether the two
matrices are equal (every field but compile time). Writes benchmarks/bench_jobs.md with the machine's CPU
count and load average, since other work on the machine changes the figures.

    .venv/bin/python benchmarks/bench_jobs.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tinyc.bench import run_matrix

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
PAIRS_MODELS = [MODELS / "kws" / "kws_ref_model.tflite", MODELS / "ad" / "ad01_int8.tflite"]
BOARDS = ["nucleo-l4r5zi", "nucleo-h743zi", "rpi-pico", "esp32-c3"]


def timed(jobs: int) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    matrix = run_matrix(PAIRS_MODELS, BOARDS, count=4, jobs=jobs, progress=False)
    rows = [{k: v for k, v in r.items() if k != "compile_seconds"} for r in matrix["rows"]]
    return time.perf_counter() - start, rows


def main() -> None:
    load_before = os.getloadavg()[0]
    runs: dict[int, list[tuple[float, list[dict]]]] = {1: [], 2: []}
    for jobs in (2, 1, 2, 1):  # alternated, best of two each: neither profits from the other's warm caches
        runs[jobs].append(timed(jobs))
    (one, rows_one), (two, rows_two) = (min(runs[j], key=lambda r: r[0]) for j in (1, 2))
    pairs = len(rows_one)
    out = [
        "# `tinyc bench --jobs`: wall time", "",
        "Regenerate with `.venv/bin/python benchmarks/bench_jobs.py`.", "",
        f"{pairs} pairs (KWS and AD on {', '.join(f'`{b}`' for b in BOARDS)}; 4 random inputs + the all-zero one "
        f"each), on {os.cpu_count()} CPUs (1-minute load average {load_before:.1f} before, from other work on the "
        "machine). Pairs run in forked worker processes (tinyc/bench/jobs.py).", "",
        "| jobs | wall time, best of 2 (s) | speed-up |", "|---:|---:|---:|",
        f"| 1 | {one:.1f} | 1.00 |", f"| 2 | {two:.1f} | {one / two:.2f} |", "",
        f"Matrices equal (every field but compile time): **{'yes' if rows_one == rows_two else 'NO'}** "
        f"({sum(r['status'] == 'ok' for r in rows_one)} of {pairs} pairs ok, all bit-exact: "
        f"{all(r['bit_exact'] for r in rows_one if r['status'] == 'ok')}).", "",
    ]
    Path(__file__).with_name("bench_jobs.md").write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
