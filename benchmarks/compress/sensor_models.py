"""Quantize and prune two small sensor models trained on real data; report what it costs and saves.

- digits: scikit-learn's `load_digits` (1,797 real 8x8 handwritten digits), a small 2-D CNN;
- BasicMotions: the UEA set shipped in sktime's wheel (smart-watch accelerometer + gyroscope, 6 channels
  x 100 steps, 4 activities, 40 train / 40 test recordings), a small 1-D CNN (the IMU case).

Each model is trained in PyTorch (CPU, fixed seeds, seconds), read by tinyc's PyTorch frontend, quantized
to int8 by tinyc (post-training, MSE calibration + bias correction on training samples) and pruned with
`tinyc.prune.prune_torch` plus a few epochs of fine-tuning: 50% of the output channels of every layer
whose channels can be removed (they are taken out of the generated C), 50% unstructured, and 2:4 (the
int8 kernels store those zeros in a compact encoding and skip them). Accuracies are on the held-out test
set; flash is the weights in the generated C (report.json `weight_bytes`) and, with --elf, the weight
sections of the ELF built for the NUCLEO-L4R5ZI (run under QEMU, outputs checked against the reference).

    python benchmarks/compress/sensor_models.py [--elf]      # writes benchmarks/compress/sensor_models.md
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tinyc.frontends.torch import load_torch, torch_outputs  # noqa: E402
from tinyc.ir import Graph  # noqa: E402
from tinyc.lower import Plan, lower  # noqa: E402
from tinyc.memory import plan_memory  # noqa: E402
from tinyc.pipeline import compile_library, run_on_target, run_reference  # noqa: E402
from tinyc.prune import prune_torch, remove_channels  # noqa: E402
from tinyc.quant import ptq, quantize_input  # noqa: E402

BOARD = "nucleo-l4r5zi"
SEED = 0
THREADS = 2


# --- data ---------------------------------------------------------------------------------------------


@dataclass
class Data:
    name: str
    x_train: np.ndarray  # float32 (N, *input shape without batch), as the torch model takes one sample
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    source: str


def digits() -> Data:
    """load_digits: 1,797 8x8 images (values 0..16), split 75/25 stratified with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.25, random_state=SEED, stratify=d.target)
    return Data("digits", xtr, ytr.astype(np.int64), xte, yte.astype(np.int64), [str(i) for i in range(10)],
                "scikit-learn load_digits")


def read_ts(path: Path) -> tuple[np.ndarray, list[str]]:
    """A .ts file of the UEA/UCR archive (equal-length series): (N, dims, length) float32 and the labels.
    Each data line holds the dimensions separated by ':', values by ',', and the class label last."""
    series, labels = [], []
    in_data = False
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.lower().startswith("@data"):
                in_data = True
            continue
        *dims, label = line.split(":")
        series.append([[float(v) for v in dim.split(",")] for dim in dims])
        labels.append(label.strip())
    x = np.asarray(series, np.float32)
    if x.ndim != 3:
        raise ValueError(f"{path}: series of unequal length or dimension count")
    return x, labels


def sktime_data_dir() -> Path:
    """sktime's bundled datasets, found without importing sktime."""
    spec = importlib.util.find_spec("sktime")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("sktime is not installed (pip install sktime: its wheel ships the .ts files)")
    return Path(spec.origin).parent / "datasets" / "data"


def basic_motions() -> Data:
    """BasicMotions: standardized per channel with the training set's mean and standard deviation."""
    folder = sktime_data_dir() / "BasicMotions"
    xtr, ltr = read_ts(folder / "BasicMotions_TRAIN.ts")
    xte, lte = read_ts(folder / "BasicMotions_TEST.ts")
    classes = sorted(set(ltr))
    mean = xtr.mean(axis=(0, 2), keepdims=True)
    std = xtr.std(axis=(0, 2), keepdims=True) + 1e-6
    norm = lambda x: ((x - mean) / std).astype(np.float32)  # noqa: E731
    index = {c: i for i, c in enumerate(classes)}
    return Data("BasicMotions", norm(xtr), np.array([index[c] for c in ltr]), norm(xte),
                np.array([index[c] for c in lte]), classes, "UEA BasicMotions (sktime wheel)")


# --- models and training -------------------------------------------------------------------------------


def digits_cnn():  # noqa: ANN201
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))


def motion_cnn():  # noqa: ANN201
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv1d(6, 16, 5, padding=2), nn.BatchNorm1d(16), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(16, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(), nn.MaxPool1d(2),
        nn.Flatten(), nn.Linear(32 * 25, 32), nn.ReLU(), nn.Linear(32, 4))


@dataclass
class Task:
    data: Data
    build: object  # () -> torch.nn.Module
    epochs: int
    finetune_epochs: int
    lr: float
    batch: int
    calib: int  # training samples used for calibration


def tasks() -> dict[str, Task]:
    return {"digits": Task(digits(), digits_cnn, 12, 10, 3e-3, 32, 300),
            "BasicMotions": Task(basic_motions(), motion_cnn, 60, 30, 3e-3, 8, 40)}


def seed_all(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(THREADS)


def train(model, data: Data, epochs: int, lr: float, batch: int, seed: int) -> None:  # noqa: ANN001
    """Adam on cross-entropy, shuffled minibatches from a fixed seed."""
    import torch

    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    model.train()
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            if len(idx) < 2:
                continue  # batch norm needs two samples
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()


# --- measuring -----------------------------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    float_acc: float  # the (pruned) float model in PyTorch
    int8_acc: float  # the int8 graph tinyc compiles, on the reference runtime
    weight_bytes: int  # report.json totals.weight_bytes of the generated C
    params: int  # weights of conv / fc layers in the graph
    zero_params: int
    macs: int
    kernels: list[str]
    plan: Plan = field(repr=False)
    qgraph: Graph = field(repr=False)
    x_test_q: np.ndarray = field(repr=False)  # the test set as the int8 model's inputs
    flash_elf: int | None = None  # weight sections of the board ELF
    flash_code_elf: int | None = None
    instructions: int | None = None  # per inference on the board (QEMU count)


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(logits.reshape(len(y), -1).argmax(axis=1) == y))


def measure(name: str, model, task: Task, graph: Graph | None = None) -> Variant:  # noqa: ANN001
    data = task.data
    float_acc = accuracy(torch_outputs(model, data.x_test), data.y_test)
    if graph is None:
        graph = load_torch(model, data.x_train[:1], name=data.name.lower())
    calib = data.x_train[:task.calib][:, None]
    qgraph = ptq(graph, calib)
    plan = plan_memory(lower(qgraph))
    xq = quantize_input(qgraph, data.x_test[:, None])
    int8_acc = accuracy(run_reference(plan, xq).astype(np.int32), data.y_test)
    with tempfile.TemporaryDirectory(prefix="tinyc-compress-") as tmp:
        report = compile_library(plan, Path(tmp) / "lib", "host", data.name.lower())
    weighted = [n for n in qgraph.nodes if n.op in ("conv2d", "depthwise_conv2d", "fully_connected")]
    params = sum(qgraph.tensor(n.inputs[1]).size for n in weighted)
    zeros = sum(int(np.count_nonzero(qgraph.tensor(n.inputs[1]).data == 0)) for n in weighted)
    kernels = [s.kernel + (f"[{s.params['format']}]" if "format" in s.params else "") for s in plan.steps
               if s.kernel.startswith(("conv", "fully", "depthwise"))]
    return Variant(name, float_acc, int8_acc, report["totals"]["weight_bytes"], params, zeros,
                   report["totals"]["macs"], kernels, plan, qgraph, xq)


def run_task(key: str, task: Task, variants: tuple[str, ...] = ("structured", "unstructured", "2:4"),
             log=print) -> list[Variant]:  # noqa: ANN001
    """Train the float model, then measure float / int8 and each pruned variant."""
    t0 = time.time()
    seed_all(SEED)
    model = task.build()
    train(model, task.data, task.epochs, task.lr, task.batch, SEED)
    log(f"{key}: trained in {time.time() - t0:.1f} s")
    out = [measure("float -> int8", model, task)]

    def finetune(m) -> None:  # noqa: ANN001
        train(m, task.data, task.finetune_epochs, task.lr / 3, task.batch, SEED + 1)

    example = task.data.x_train[:1]
    for v in variants:
        seed_all(SEED + 1)
        if v == "structured":
            pruned = prune_torch(model, 0.5, "channel", example_input=example)
            graph = remove_channels(load_torch(pruned, example, name=task.data.name.lower()))
            out.append(measure("50% channels removed, no fine-tuning", pruned, task, graph))
            seed_all(SEED + 1)
            pruned = prune_torch(model, 0.5, "channel", finetune=finetune, example_input=example)
            graph = remove_channels(load_torch(pruned, example, name=task.data.name.lower()))
            out.append(measure("50% channels removed + fine-tuning", pruned, task, graph))
        elif v == "unstructured":
            pruned = prune_torch(model, 0.5, "unstructured", finetune=finetune, example_input=example)
            out.append(measure("50% unstructured + fine-tuning", pruned, task))
        elif v == "2:4":
            pruned = prune_torch(model, 0.5, "n:m", n_m=(2, 4), finetune=finetune, example_input=example)
            out.append(measure("2:4 + fine-tuning", pruned, task))
        log(f"{key}: {v} done at {time.time() - t0:.1f} s")
    return out


def measure_elf(v: Variant, n: int = 50) -> bool:
    """Build for the board, run n test inputs under QEMU; record the ELF's weight flash. True when the
    board's outputs equal the reference runtime's byte for byte."""
    x = v.x_test_q[:n]
    out, report = run_on_target(v.plan, x, BOARD)
    v.flash_elf = report["flash"]["weights"]
    v.flash_code_elf = report["flash"]["code"]
    v.instructions = report["instructions_per_inference"][0]
    return out.tobytes() == run_reference(v.plan, x).tobytes()


# --- report ------------------------------------------------------------------------------------------


def table(key: str, task: Task, rows: list[Variant]) -> list[str]:
    base = rows[0]
    d = task.data
    lines = [f"## {key}", "",
             f"{d.source}: {len(d.x_train)} training / {len(d.x_test)} test samples of shape "
             f"{list(d.x_train.shape[1:])}, {len(d.classes)} classes. Float model trained {task.epochs} "
             "epochs; "
             f"fine-tuning {task.finetune_epochs} epochs.", "",
             "| model | float acc. | int8 acc. | int8 drop vs float | weights in C (bytes) | saved | "
             "ELF weights (bytes) | MACs | M4F instructions | conv/fc kernels |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for v in rows:
        drop = 100 * (base.float_acc - v.int8_acc)
        saved = 1 - v.weight_bytes / base.weight_bytes
        elf = f"{v.flash_elf:,}" if v.flash_elf is not None else "-"
        instr = f"{v.instructions:,}" if v.instructions is not None else "-"
        kernels = ", ".join(v.kernels)
        lines.append(f"| {v.name} | {100 * v.float_acc:.2f}% | {100 * v.int8_acc:.2f}% | {drop:+.2f} pt | "
                     f"{v.weight_bytes:,} | {100 * saved:.1f}% | {elf} | {v.macs:,} | {instr} | {kernels} |")
    return lines + [""]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elf", action="store_true",
                    help=f"also build for {BOARD} and measure the ELF under QEMU")
    ap.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name("sensor_models.md"))
    args = ap.parse_args(argv)
    lines = ["# Sensor models on real data: what int8 and pruning cost and save", "",
             "Generated by `python benchmarks/compress/sensor_models.py"
             + (" --elf" if args.elf else "") + "`. "
             "Drops are in accuracy points against the unpruned float model (PyTorch); int8 accuracy is "
             "tinyc's reference runtime on the int8 graph, which the generated C matches byte for byte. "
             "\"weights in C\" is report.json's `weight_bytes` (int8 weights, int32 biases and "
             "requantization constants; sparse layers in their compact encoding); \"ELF weights\" is "
             f"the weight sections of the firmware linked for the {BOARD} (Cortex-M4F, run under QEMU on "
             "50 test inputs, outputs equal to the reference), with the instructions one inference "
             "executes there. \"saved\" is against the unpruned int8 model.", "",
             "The PyTorch path, as the script runs it (Python API: tinyc.frontends.torch, tinyc.prune):", "",
             "```python",
             "pruned = prune_torch(model, 0.5, \"channel\", finetune=train_a_few_epochs, example_input=x)",
             "graph = remove_channels(load_torch(pruned, x))      # float graph, pruned channels taken out",
             "qgraph = ptq(graph, calibration_samples)             # int8, MSE calibration + bias correction",
             "compile_library(plan_memory(lower(qgraph)), \"out/\", \"nucleo-l4r5zi\")",
             "```", ""]
    for key, task in tasks().items():
        rows = run_task(key, task)
        if args.elf:
            for v in rows:
                if not measure_elf(v):
                    raise SystemExit(f"{key} / {v.name}: board outputs differ from the reference")
        lines += table(key, task, rows)
    lines += ["Structured pruning removes the channels from the graph (the next layer's inputs too), so "
              "the saving holds on any kernel; unstructured and 2:4 zeros stay in the graph and the int8 "
              "lowering stores those layers as bitmask (\"mask\") or N:M (\"nm\") encodings whose kernels "
              "skip the zeros (tinyc/ops/sparse_weights.py). Removing channels also cuts MACs and "
              "instructions; the sparse encodings save flash but their kernels decode indices one "
              "weight at a time, so on a DSP core (SMLAD, two MACs per instruction in the dense "
              "kernels) they execute more instructions than the dense layers they replace.", ""]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
