"""`tinyc validate`: the deployed (quantized) model against its float original on the user's data.

The same float inputs go to both: quantized with the deployed model's own parameters (tinyc.floatio) and
run on the reference runtime, the generated C on the host, an emulated board, or a board on a serial port
(tinyc.serial_protocol); the original runs in an independent runtime (tinyc.validate.original). The outputs,
dequantized, are compared per output (tinyc.validate.metrics).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from tinyc.errors import InputError, shown
from tinyc.floatio import dequantize_outputs, load_float_inputs, quantize_inputs
from tinyc.lower import Plan
from tinyc.validate.metrics import accuracy, output_metrics
from tinyc.validate.original import run_original


def run_deployed(plan: Plan, inputs: list[np.ndarray], target: str, port: str | None,
                 timeout: float = 10.0) -> list[np.ndarray]:
    """The model's outputs (its dtypes) for quantized inputs, on a target, or with ``port`` on a board running
    the validation firmware built for ``target``."""
    from tinyc.pipeline import run_model

    if port is None:
        return run_model(plan, inputs, target)[0]
    return run_on_port(plan, inputs, target, port, timeout)


def run_on_port(plan: Plan, inputs: list[np.ndarray], board_id: str, port: str, timeout: float) -> list[np.ndarray]:
    import serial

    from tinyc import serial_protocol as sp
    from tinyc.boards import board_ids, load_board
    from tinyc.targets.library import pack_records, record_layout, split_records
    from tinyc.validate.firmware import write_library

    if board_id not in board_ids():
        raise InputError(f"--port needs --target BOARD, the board the validation firmware was built for "
                         f"(one of: {', '.join(board_ids())}), not '{board_id}'")
    graph = plan.graph
    records = pack_records(inputs)
    out_bytes = record_layout([graph.tensor(n).nbytes for n in graph.outputs])[1]
    with tempfile.TemporaryDirectory(prefix="tinyc-") as tmp:  # the library the firmware must have been built from
        _, model_id = write_library(plan, load_board(board_id), Path(tmp))
    try:
        link = serial.serial_for_url(port, baudrate=115200, timeout=timeout)
    except (serial.SerialException, ValueError) as exc:
        raise InputError(f"{port}: cannot open the serial port ({exc})") from None
    with link:
        link.reset_input_buffer()
        sp.check_hello(sp.hello(link), model_id, records.shape[1], out_bytes,
                       f"model '{shown(graph.name)}' built for {board_id}")
        outputs = sp.run_records(link, [r.tobytes() for r in records], out_bytes)
    kinds = [(graph.tensor(n).np_dtype, graph.tensor(n).shape) for n in graph.outputs]
    return split_records(np.frombuffer(b"".join(outputs), dtype=np.int8).reshape(len(records), out_bytes), kinds)


def validate(model: Path, original: Path, data: Path, labels: Path | None = None, target: str = "ref",
             port: str | None = None, timeout: float = 10.0) -> dict:
    """The comparison as a dict (the --json output): settings, accuracy with labels, metrics per output."""
    from tinyc.pipeline import build_plan

    plan = build_plan(model)
    graph = plan.graph
    floats, _ = load_float_inputs(graph, data)
    n = len(floats[0])
    deployed = dequantize_outputs(graph, run_deployed(plan, quantize_inputs(graph, floats), target, port, timeout))
    reference, runtime = run_original(Path(original), floats)
    if len(reference) != len(deployed):
        raise InputError(f"{original}: {len(reference)} outputs, the deployed model has {len(deployed)}")
    outputs = []
    for k, (name, d, o) in enumerate(zip(graph.outputs, deployed, reference, strict=True)):
        if d.size != o.size:
            raise InputError(f"{original}: output {k} has {o[0].size} values per sample, the deployed model's "
                             f"'{shown(name)}' {d[0].size}")
        outputs.append({"output": k, "name": name, **output_metrics(d, o.reshape(d.shape))})
    report = {"model": str(model), "original": str(original), "original_runtime": runtime,
              "target": target if port is None else f"{target} on {port}", "inputs": n, "outputs": outputs}
    if labels is not None:
        y = load_labels(labels, n)
        report["accuracy"] = {"deployed": accuracy(deployed[0], y), "original": accuracy(reference[0], y)}
    return report


def load_labels(path: Path, n: int) -> np.ndarray:
    try:
        y = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: cannot read as .npy ({exc})") from None
    if y.shape != (n,) or y.dtype.kind not in "iu":
        raise InputError(f"{path}: labels must be {n} integers (one class index per input), got "
                         f"{y.dtype}{list(y.shape)}")
    return y


def render_table(report: dict) -> str:
    """The comparison as a text table (tabulate)."""
    from tabulate import tabulate

    def f(v: float | None, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    rows = [[o["output"], shown(o["name"]), f(o["top1_agreement"], ".2%"), f(o["rmse"], ".4g"),
             f(o["max_abs_error"], ".4g"), f(o["l2_relative_error"], ".4g"), f(o["cosine"], ".6f")]
            for o in report["outputs"]]
    head = ["#", "output", "top-1 agreement", "RMSE", "max |err|", "L2 rel. error", "cosine"]
    lines = [f"{report['model']} on {report['target']} vs {report['original']} ({report['original_runtime']}), "
             f"{report['inputs']} input(s)", tabulate(rows, head, tablefmt="simple", disable_numparse=True)]
    if "accuracy" in report:
        a = report["accuracy"]
        lines.append(f"accuracy: deployed {a['deployed']:.2%}, original {a['original']:.2%}")
    return "\n".join(lines)


def write_firmware(model: Path, board_id: str, out_dir: Path) -> list[str]:
    """The validation firmware's sources for a real board, in ``out_dir`` (an earlier tinyc output there is
    replaced): the model library in lib/, model_glue.h, serial_model_id.h, serial_main.c, serial_port.h and
    serial_port_cmsdk.c (the QEMU port, a template for the board's own), report.json. Returns the file names."""
    from tinyc.boards import board_ids, load_board
    from tinyc.codegen.output import write_folder
    from tinyc.pipeline import build_plan
    from tinyc.validate.firmware import FIRMWARE, write_library

    if board_id not in board_ids():
        raise InputError(f"--firmware needs --target BOARD (one of: {', '.join(board_ids())}), not '{board_id}'")
    plan = build_plan(model)
    with tempfile.TemporaryDirectory(prefix="tinyc-") as tmp:
        write_library(plan, load_board(board_id), Path(tmp))
        files = {str(p.relative_to(tmp)): p.read_text() for p in sorted(Path(tmp).rglob("*")) if p.is_file()}
    files |= {p.name: p.read_text() for p in sorted(FIRMWARE.iterdir()) if p.suffix in (".c", ".h")}
    files["report.json"] = files["lib/report.json"]  # marks the folder as tinyc's output (replaceable)
    write_folder(Path(out_dir), files)
    return sorted(files)
