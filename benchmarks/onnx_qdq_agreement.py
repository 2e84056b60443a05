"""Quantized ONNX: tinyc (TFLM's fixed-point requantization) against onnxruntime (float requantization) on
models quantized by onnxruntime's static quantizer, and `tinyc quantize` (tinyc.quant.ptq) of the same float
model on the same data. Writes benchmarks/onnx_qdq_agreement.md.

    .venv/bin/python -m benchmarks.onnx_qdq_agreement

Per model and quantizer format: how many output values of tinyc's run of the onnxruntime-quantized model
equal onnxruntime's (in LSB of the output's int8 scale), how many are within 1 LSB, the top-1 agreement, and
the accuracy (data with labels) or top-1 agreement with the float model (data without labels) of onnxruntime's
int8 model on onnxruntime, on tinyc, and of tinyc's own int8 model of the float one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests.qdq_models import conv_net, mnist_for_quantizer, ort_quantize, ort_run, output_scale
from tinyc.errors import TinycError
from tinyc.frontends.onnx import load_onnx
from tinyc.lower import lower
from tinyc.quant import dequantize_output, ptq, quantize_input
from tinyc.runtime import run_plan

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT.parent / "shared" / "models"
OUT = Path(__file__).with_name("onnx_qdq_agreement.md")
FORMATS = (("QDQ", True, "int8"), ("QDQ", False, "uint8"), ("QOperator", True, "int8"), ("QOperator", False, "uint8"))
N_CALIB = 32


def tinyc_run(path: Path, x: np.ndarray) -> np.ndarray:
    g = load_onnx(path)
    return run_plan(lower(g), [x.reshape((len(x),) + g.tensor(g.inputs[0]).shape)])[g.outputs[0]].reshape(len(x), -1)


def tinyc_ptq(float_path: Path, calib: np.ndarray, x: np.ndarray) -> np.ndarray:
    g = load_onnx(float_path)
    shape = g.tensor(g.inputs[0]).shape
    q = ptq(g, calib.reshape((len(calib),) + shape))
    y = run_plan(lower(q), [quantize_input(q, x.reshape((len(x),) + shape))])[q.outputs[0]]
    return dequantize_output(q, y).reshape(len(x), -1)


def digits(tmp: Path) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray, str]:
    """A small CNN trained here on scikit-learn's handwritten digits (8x8, real data; 1,257 train / 540 test),
    exported by torch.onnx.export."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None]
    x_train, x_test, y_train, y_test = train_test_split(x, data.target, test_size=540, random_state=0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(16 * 16, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    path = tmp / "digits_cnn.onnx"
    torch.onnx.export(model.eval(), torch.zeros(1, 1, 8, 8), str(path), input_names=["x"], opset_version=13,
                      dynamo=False)
    return path, x_train[:N_CALIB * 4], x_test, y_test, "scikit-learn digits test split (real, labelled)"


def cases(tmp: Path) -> list[Callable[[], tuple[str, Path, np.ndarray, np.ndarray, np.ndarray | None, str]]]:
    from tests.onnx_exports import build_keras_model, build_lstm_kws, build_mobilenet_v2, keras_available

    def export(builder: Callable, n: int) -> Callable:
        def make() -> tuple:
            e = builder(tmp / f"{builder.__name__}.onnx")
            x = e.inputs(N_CALIB + n, seed=1).reshape((N_CALIB + n,) + e.shape[1:])
            return (builder.__name__.removeprefix("build_"), e.path, x[:N_CALIB], x[N_CALIB:], None,
                    "the export's synthetic inputs (random weights: no real data set for it here)")
        return make

    def mnist() -> tuple:
        folder = MODELS / "onnx" / "mnist-8"
        import onnx

        vecs = [onnx.numpy_helper.to_array(onnx.load_tensor(str(folder / f"test_data_set_{i}" / f"{k}_0.pb")))
                for i in range(3) for k in ("input", "output")]
        x = np.concatenate(vecs[0::2]).astype(np.float32)
        labels = np.array([int(v.argmax()) for v in vecs[1::2]])
        noise = np.random.default_rng(0).normal(0, 20, (N_CALIB, 1, 28, 28))
        calib = np.clip(np.tile(x, (N_CALIB // 3 + 1, 1, 1, 1))[:N_CALIB] + noise, 0, 255).astype(np.float32)
        return ("mnist-8", mnist_for_quantizer(folder / "mnist-8.onnx", tmp / "mnist.onnx"), calib, x, labels,
                "the model zoo's 3 MNIST test vectors (real; labels = its expected outputs)")

    def conv() -> tuple:
        x = np.random.default_rng(7).normal(size=(N_CALIB + 1000, 3, 8, 8)).astype(np.float32)
        return "conv_net", conv_net(tmp / "conv.onnx"), x[:N_CALIB], x[N_CALIB:], None, "random normal inputs"

    def digit_case() -> tuple:
        path, calib, x, y, what = digits(tmp)
        return "digits_cnn", path, calib, x, y, what

    out = [digit_case, conv, export(build_mobilenet_v2, 200), export(build_lstm_kws, 300)]
    if keras_available():
        out.append(export(build_keras_model, 300))
    if MODELS.is_dir():
        out.append(mnist)
    return out


def score(y: np.ndarray, ref_top: np.ndarray, labels: np.ndarray | None) -> str:
    top = y.argmax(1)
    return f"{np.mean(top == labels):.2%}" if labels is not None else f"{np.mean(top == ref_top):.2%} agree"


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for make in cases(tmp):
            name, float_path, calib, x, labels, what = make()
            float_top = ort_run(float_path, x).reshape(len(x), -1).argmax(1)
            try:
                own = score(tinyc_ptq(float_path, calib, x), float_top, labels)
            except TinycError as exc:
                own = f"refused: {str(exc).split(' of /')[0][:90]}"
            for fmt, per_channel, act in FORMATS:
                q = ort_quantize(float_path, tmp / f"{name}_{fmt}_{per_channel}_{act}.onnx", calib, fmt, per_channel,
                                 act)
                ref = ort_run(q, x).reshape(len(x), -1)
                label = f"{fmt}, {'per channel' if per_channel else 'per tensor'}, {act}"
                try:
                    got = tinyc_run(q, x)
                except TinycError as exc:
                    rows.append((name, label, len(x), "-", "-", "-", "-", score(ref, float_top, labels), "refused: "
                                 + str(exc).split(" in node")[0][:80], own, what))
                    print(*rows[-1][:10], flush=True)
                    continue
                lsb = np.rint(np.abs(got.astype(np.float64) - ref) / output_scale(q)).astype(int)
                rows.append((name, label, len(x), f"{np.mean(lsb == 0):.2%}", f"{np.mean(lsb <= 1):.2%}",
                             str(lsb.max()), f"{np.mean(got.argmax(1) == ref.argmax(1)):.2%}",
                             score(ref, float_top, labels), score(got, float_top, labels), own, what))
                print(*rows[-1][:10], flush=True)
    head = ("| model | onnxruntime quantizer | inputs | values equal | within 1 LSB | max LSB | top-1 = ort | "
            "ort int8 on ort | ort int8 on tinyc | `tinyc quantize` | data |\n" + "|---" * 11 + "|\n")
    body = "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in rows)
    OUT.write_text(
        "# Quantized ONNX: tinyc vs onnxruntime\n\n"
        "Generated by `benchmarks/onnx_qdq_agreement.py`. Models quantized by `onnxruntime.quantization."
        "quantize_static` (MinMax calibration on the first 32 samples; int8 weights, per channel or per tensor), "
        "run by onnxruntime and by tinyc's reference runtime (TFLM's fixed-point requantization; the generated C "
        "and emulated boards give the reference's bytes). Values are compared in LSB of the output's int8 scale. "
        "Accuracy columns: top-1 accuracy on labelled data, else top-1 agreement with the float model on "
        "onnxruntime. `tinyc quantize`: tinyc.quant.ptq (MSE calibration, bias correction) of the float model on "
        "the same calibration samples.\n\n" + head + body)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
