"""Classic ML on real sensor features: scikit-learn -> skl2onnx -> tinyc, beside onnxruntime.

    python benchmarks/ml_models.py [-o benchmarks/ml_models.md]

Data: BasicMotions (the UEA IMU set in sktime's wheel: 3-axis accelerometer + gyroscope, 100 steps, 4 activities,
40 train / 40 test recordings), 8 features per channel (mean, standard deviation, min, max, mean |step|,
energy, two quartiles): 48 features. Classifiers predict the activity; regressors the accelerometer energy
from the gyroscope's features. Labels and scores are compared with onnxruntime on all 80 recordings and on
2,000 feature vectors drawn uniformly inside the training set's feature ranges (ref); host and the emulated
Cortex-M4F (nucleo-l4r5zi) on the 80 recordings. Flash and instructions per inference: the M4F build.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.compress.sensor_models import read_ts, sktime_data_dir  # noqa: E402

BOARD = "nucleo-l4r5zi"
SEED = 0
NN_ROWS = ("tflm_hello_world_float", "tflm_micro_speech_quantized", "tflm_mnist_lstm_int8")  # from zoo.md


def features(x: np.ndarray) -> np.ndarray:
    """(N, 6, length) recordings -> (N, 48) float32 features, 8 per channel."""
    step = np.abs(np.diff(x, axis=2)).mean(axis=2)
    q1, q3 = np.percentile(x, [25, 75], axis=2)
    parts = [x.mean(axis=2), x.std(axis=2), x.min(axis=2), x.max(axis=2), step, (x * x).mean(axis=2), q1, q3]
    return np.stack(parts, axis=2).reshape(len(x), -1).astype(np.float32)


def data() -> dict[str, np.ndarray]:
    folder = sktime_data_dir() / "BasicMotions"
    xtr, ltr = read_ts(folder / "BasicMotions_TRAIN.ts")
    xte, lte = read_ts(folder / "BasicMotions_TEST.ts")
    classes = sorted(set(ltr))
    ftr, fte = features(xtr), features(xte)
    rng = np.random.default_rng(SEED)
    lo, hi = ftr.min(axis=0), ftr.max(axis=0)
    probe = rng.uniform(lo, hi, (2000, ftr.shape[1])).astype(np.float32)
    return {"train": ftr, "test": fte, "y_train": np.array([classes.index(v) for v in ltr]),
            "y_test": np.array([classes.index(v) for v in lte]), "probe": probe}


GYRO = slice(24, 48)  # channels 3..5: the gyroscope's features
ACC_ENERGY = [8 * ch + 5 for ch in range(3)]


def regression_target(f: np.ndarray) -> np.ndarray:
    return f[:, ACC_ENERGY].sum(axis=1).astype(np.float32)


BINARY = (1, 3)  # Running or Walking: the binary models' positive class


def models() -> dict[str, tuple[object, str]]:
    """name -> (unfitted scikit-learn estimator, "multiclass", "binary" or "regressor")."""
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR, LinearSVC

    def scaled(m: object) -> object:
        return make_pipeline(StandardScaler(), m)

    return {
        "logistic_regression": (scaled(LogisticRegression(max_iter=2000)), "multiclass"),
        "linear_svc": (LinearSVC(C=0.01, max_iter=20000), "multiclass"),  # skl2onnx cannot convert it in a pipeline
        "svc_linear": (scaled(SVC(kernel="linear", decision_function_shape="ovo")), "multiclass"),
        "svc_rbf": (scaled(SVC(kernel="rbf", decision_function_shape="ovo")), "multiclass"),
        "svc_poly": (scaled(SVC(kernel="poly", degree=3, decision_function_shape="ovo")), "multiclass"),
        "svc_sigmoid": (scaled(SVC(kernel="sigmoid", decision_function_shape="ovo")), "multiclass"),
        "random_forest": (RandomForestClassifier(n_estimators=30, max_depth=8, random_state=SEED), "multiclass"),
        "gradient_boosting": (GradientBoostingClassifier(n_estimators=25, max_depth=3, random_state=SEED),
                              "multiclass"),
        "logistic_regression_binary": (scaled(LogisticRegression(max_iter=2000)), "binary"),
        "linear_svc_binary": (LinearSVC(C=0.01, max_iter=20000), "binary"),  # + ArrayFeatureExtractor
        "svc_rbf_binary": (scaled(SVC(kernel="rbf")), "binary"),
        "random_forest_binary": (RandomForestClassifier(n_estimators=20, max_depth=6, random_state=SEED), "binary"),
        "gradient_boosting_binary": (GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=SEED),
                                     "binary"),
        "linear_regression": (LinearRegression(), "regressor"),
        "svr_rbf": (scaled(SVR(kernel="rbf", C=10.0)), "regressor"),
        "gradient_boosting_regressor": (GradientBoostingRegressor(n_estimators=40, max_depth=3,
                                                                  random_state=SEED), "regressor"),
    }


def train_and_export(d: dict[str, np.ndarray], folder: Path) -> dict[str, tuple[Path, bool, float]]:
    """Fit every model, write it as ONNX (skl2onnx); name -> (path, is_classifier, test accuracy or R^2)."""
    from skl2onnx import to_onnx

    out = {}
    for name, (model, kind) in models().items():
        classifier = kind != "regressor"
        if classifier:
            y, y_test = d["y_train"], d["y_test"]
            if kind == "binary":
                y, y_test = np.isin(y, BINARY).astype(np.int64), np.isin(y_test, BINARY).astype(np.int64)
            model.fit(d["train"], y)
            x0 = d["train"][:1]
        else:
            model.fit(d["train"][:, GYRO], regression_target(d["train"]))
            x0 = d["train"][:1, GYRO]
        score = (model.score(d["test"], y_test) if classifier
                 else model.score(d["test"][:, GYRO], regression_target(d["test"])))
        path = folder / f"{name}.onnx"
        # skl2onnx's ZipMap after a one-vs-one SVC names 4 classes for 6 pair scores (onnxruntime refuses it)
        options = {id(model.steps[-1][1]): {"zipmap": False}} if name.startswith("svc_") else None
        onnx_model = to_onnx(model, x0, target_opset={"": 17, "ai.onnx.ml": 3}, options=options)
        path.write_bytes(onnx_model.SerializeToString())
        out[name] = (path, classifier, float(score))
    return out


def inputs_for(d: dict[str, np.ndarray], classifier: bool, probe: bool = True) -> np.ndarray:
    x = np.concatenate([d["train"], d["test"]] + ([d["probe"]] if probe else []))
    return np.ascontiguousarray(x if classifier else x[:, GYRO])


def onnxruntime_outputs(path: Path, x: np.ndarray) -> list[np.ndarray]:
    """Every output for each row alone (batch 1); ZipMap's list of maps as the [N, classes] tensor it wraps."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    rows = [sess.run(None, {name: r[None]}) for r in x]
    outs = []
    for k in range(len(rows[0])):
        vals = [r[k] for r in rows]
        if isinstance(vals[0], list):
            vals = [np.array([list(m.values()) for m in v], np.float32) for v in vals]
        outs.append(np.concatenate(vals))
    return outs


def ulps(a: np.ndarray, b: np.ndarray) -> int:
    """Largest distance between float32 values a and b in units in the last place (of the values themselves)."""
    ia = a.astype(np.float32).reshape(-1).view(np.int32).astype(np.int64)
    ib = b.astype(np.float32).reshape(-1).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, np.int64(-(2**31)) - ia, ia)  # sign-magnitude -> monotonic
    ib = np.where(ib < 0, np.int64(-(2**31)) - ib, ib)
    return int(np.abs(ia - ib).max())


def row_ulps(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| in units in the last place of the largest |b| of its row (a near-zero score that cancels
    has many ulps of its own, few of the row's scale)."""
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    scale = np.spacing(np.abs(b).max(axis=1, keepdims=True).astype(np.float32)).astype(np.float64)
    return float((np.abs(a - b) / scale).max())


def measure(folder: Path) -> list[dict]:
    from tinyc.frontends.onnx import load_onnx
    from tinyc.lower import lower
    from tinyc.memory import plan_memory
    from tinyc.pipeline import run_model

    d = data()
    rows = []
    for name, (path, classifier, score) in train_and_export(d, folder).items():
        graph = load_onnx(path)
        plan = plan_memory(lower(graph))
        x = inputs_for(d, classifier)
        want = onnxruntime_outputs(path, x)
        ref, _ = run_model(plan, [x.reshape(len(x), 1, -1)], "ref")
        ref = [r.reshape(w.shape) for r, w in zip(ref, want, strict=True)]
        few = [x[:80].reshape(80, 1, -1)]
        host, _ = run_model(plan, few, "host")
        board, report = run_model(plan, few, BOARD)
        same = all(h.tobytes() == r[:80].tobytes() and b.tobytes() == r[:80].tobytes()
                   for h, b, r in zip(host, board, ref, strict=True))
        row = {"model": name, "ops": sorted({n.op for n in graph.nodes}), "score": score, "inputs": len(x),
               "labels": int((ref[0] == want[0]).sum()) if classifier else None, "ulps": ulps(ref[-1], want[-1]),
               "row_ulps": row_ulps(ref[-1], want[-1]),
               "c_equal": same, "flash": report["flash"]["total"], "ram": report["ram"]["total"],
               "instructions": report["instructions_per_inference"][0]}
        rows.append(row)
        print(row, flush=True)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| model | tinyc ops | test accuracy / R² | labels = onnxruntime | scores: max ulp (of the row's largest) "
             "| host, M4F = ref | M4F flash (B) | M4F RAM (B) | M4F instructions |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        labels = f"{r['labels']}/{r['inputs']}" if r["labels"] is not None else "-"
        lines.append(f"| `{r['model']}` | {', '.join(r['ops'])} | {r['score']:.3f} | {labels} | "
                     f"{r['ulps']} ({r['row_ulps']:.1f}) | "
                     f"{'80/80' if r['c_equal'] else 'differ'} | {r['flash']:,} | {r['ram']:,} | "
                     f"{r['instructions']:,} |")
    zoo = (ROOT / "benchmarks" / "zoo.md").read_text().splitlines() if (ROOT / "benchmarks" / "zoo.md").exists() else []
    for nn in NN_ROWS:
        for line in zoo:
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 8 and cells[1] == f"`{nn}`":
                flash, ram = (v.strip() for v in cells[7].split("/"))
                lines.append(f"| `{nn}` (NN, zoo.md) | {cells[2]} | - | - | - | - | {flash} | {ram} | {cells[6]} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import tempfile

    from tinyc.atomic import write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks" / "ml_models.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tinyc-ml-") as tmp:
        rows = measure(Path(tmp))
    head = ("# Classic ML models (ONNX-ML)\n\n`python benchmarks/ml_models.py`: "
            + " ".join(__doc__.split("\n\n")[2].split()) + "\n\n")
    write_text(args.output, head + markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
