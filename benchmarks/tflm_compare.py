"""tinyc beside TFLM + CMSIS-NN (ANCHORS.md), from a `tinyc bench` matrix: writes benchmarks/tflm_m4f.md.

    tinyc bench --models ../shared/models/mlperf_tiny/kws/kws_ref_model.tflite,... --boards all \\
        --json benchmarks/matrix.json --markdown benchmarks/matrix.md
    python benchmarks/tflm_compare.py [benchmarks/matrix.json] [-o benchmarks/tflm_m4f.md]

The matrix must hold the three MLPerf Tiny int8 models on nucleo-l4r5zi (M4F) and, for the other-core
table, nucleo-h743zi (M7), corstone-300 (M55) and esp32-c3 (rv32imc). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tinyc.bench.anchors import render_tflm_markdown
from tinyc.bench.baseline import load_matrix

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("matrix", nargs="?", type=Path, default=HERE / "matrix.json")
    parser.add_argument("-o", "--output", type=Path, default=HERE / "tflm_m4f.md")
    args = parser.parse_args()
    matrix = load_matrix(args.matrix)
    this = "python benchmarks/tflm_compare.py benchmarks/matrix.json -o benchmarks/tflm_m4f.md"
    commands = [matrix["command"], this]
    text = render_tflm_markdown(matrix, commands)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
