"""Helpers shared by several test files: the CLI under test and TFLM as the reference engine."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from tinyc.cli import main


def invoke(*args: object) -> tuple[int, str, str]:
    """Run the tinyc CLI in-process: (exit code, stderr, stdout)."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stderr.strip(), result.stdout


def run_targets(model: object, inputs: object, out_dir: object, targets: tuple[str, ...] = ("ref", "host"),
                ) -> dict[str, np.ndarray]:
    """`tinyc run` of model on the inputs file for each target: its outputs (a failed run fails the test)."""
    outputs = {}
    for target in targets:
        out = f"{out_dir}/{target}.npy"
        code, err, _ = invoke("run", model, "-i", inputs, "-o", out, "--target", target)
        assert code == 0, err
        outputs[target] = np.load(out)
    return outputs


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def tflm_outputs(path, batch: np.ndarray, sequence: bool = False) -> np.ndarray:  # noqa: ANN001
    """TFLM's (tflite-micro's interpreter) output for each input of a batch: each an independent inference
    (the interpreter reset before it, so recurrent state starts afresh, as `tinyc run` and the host runner do),
    or with `sequence` consecutive invocations without reset."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_file(str(path))
    outs = []
    for x in batch:
        if not sequence:
            interp.reset()
        interp.set_input(x, 0)
        interp.invoke()
        outs.append(interp.get_output(0).copy())
    return np.stack(outs)



def tflm_run(path, inputs: list[np.ndarray], n_outputs: int) -> list[np.ndarray]:  # noqa: ANN001
    """tflm_outputs for a model with several inputs and outputs: one [N, ...] batch per input in, one [N, ...]
    array per output out, each row an independent inference."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_file(str(path))
    outs: list[list[np.ndarray]] = [[] for _ in range(n_outputs)]
    for i in range(len(inputs[0])):
        interp.reset()
        for k, x in enumerate(inputs):
            interp.set_input(x[i], k)
        interp.invoke()
        for k in range(n_outputs):
            outs[k].append(interp.get_output(k).copy())
    return [np.stack(o) for o in outs]
