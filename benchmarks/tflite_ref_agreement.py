"""How often tinyc (= TFLM) agrees with full TFLite's BUILTIN_REF kernels, and which op explains each
difference: for every differing input, the first node whose output differs between the two.

    .venv/bin/python benchmarks/tflite_ref_agreement.py [--inputs 1000]   -> benchmarks/tflite_ref_agreement.md
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from tinyc.frontends import load_model
from tinyc.lower import lower
from tinyc.runtime import run_plan

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
INT8 = {"KWS": "kws/kws_ref_model.tflite", "IC": "ic/pretrainedResnet_quant.tflite", "AD": "ad/ad01_int8.tflite"}


def compare(key: str, n: int) -> dict:
    path = MODELS / INT8[key]
    graph = load_model(path)
    plan = lower(graph)
    x = np.random.default_rng(2024).integers(-128, 128, size=(n, *graph.tensor(graph.inputs[0]).shape),
                                             dtype=np.int8)
    ours = run_plan(plan, [x], keep_all=True)
    tfl = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                      experimental_preserve_all_tensors=True)
    tfl.allocate_tensors()
    index = {d["name"]: d["index"] for d in tfl.get_tensor_details()}
    culprits: Counter[str] = Counter()
    differ = 0
    for i in range(n):
        tfl.set_tensor(tfl.get_input_details()[0]["index"], x[i])
        tfl.invoke()
        out = tfl.get_tensor(tfl.get_output_details()[0]["index"])
        if out.tobytes() == ours[graph.outputs[0]][i].tobytes():
            continue
        differ += 1
        for step in plan.steps:  # the first node whose output differs explains the difference
            if tfl.get_tensor(index[step.outputs[0]]).tobytes() != ours[step.outputs[0]][i].tobytes():
                culprits[f"{graph.nodes[plan.steps.index(step)].op} ({step.node})"] += 1
                break
    return {"model": key, "inputs": n, "agree": n - differ, "culprits": culprits}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inputs", type=int, default=1000)
    args = parser.parse_args()
    lines = ["| model | inputs | tinyc = TFLite BUILTIN_REF | differ | first differing node (count) |",
             "|---|---:|---:|---:|---|"]
    for key in INT8:
        r = compare(key, args.inputs)
        why = ", ".join(f"{k}: {v}" for k, v in r["culprits"].most_common()) or "-"
        lines.append(f"| {key} | {r['inputs']} | {r['agree']} | {r['inputs'] - r['agree']} | {why} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (Path(__file__).parent / "tflite_ref_agreement.md").write_text(text)


if __name__ == "__main__":
    main()
