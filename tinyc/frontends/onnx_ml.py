"""ONNX-ML (ai.onnx.ml: the classic models skl2onnx writes) -> ir.Graph nodes.

LinearClassifier / LinearRegressor -> ml_linear, SVMClassifier / SVMRegressor -> ml_svm, TreeEnsembleClassifier /
TreeEnsembleRegressor -> ml_tree_ensemble, Scaler -> ml_scaler, Normalizer -> ml_normalizer (tinyc/ops/ml_*.py),
ArrayFeatureExtractor with constant indices -> gather.
ZipMap is dropped: its output is the probability tensor it reads (a [N, classes] float32 output instead of a
sequence of maps). Labels are int64 outputs; binary classifiers follow onnxruntime's rules (see the ops). What
these kernels do not compute as onnxruntime does (SVM probability estimates, string labels, double thresholds, a
binary tree ensemble scoring both classes, ...) is refused, naming the attribute, the node and the file.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import TensorProto, numpy_helper

from tinyc.errors import shown
from tinyc.frontends.onnx import _activation_input, _Converter, _Ctx, _fail, _unsupported
from tinyc.ir import Tensor
from tinyc.ir.graph import check_shape
from tinyc.ops._ml import POST_TRANSFORMS
from tinyc.ops.ml_normalizer import NORMS
from tinyc.ops.ml_svm import KERNELS
from tinyc.ops.ml_tree_ensemble import MISSING_TRUE, MODES


def _value(c: _Converter, name: str, shape: tuple[int, ...], dtype: str = "float32") -> str:
    """The IR tensor of ONNX output `name` (ONNX layout) of `dtype`."""
    check_shape(shape, dtype, f"{c.path}: value '{shown(name)}'")
    ir = name if name not in c.g.tensors else c.fresh(f"{name}_ml")
    c.g.add_tensor(Tensor(ir, shape, dtype))
    c.shapes[name] = shape
    c.vals[name] = {"onnx": ir}
    return ir


def _rows(c: _Converter, x: _Ctx) -> tuple[str, int, int]:
    """The float32 [N, features] input: its IR name, N and the number of features."""
    src = _activation_input(c, x)
    shape = c.shapes[src]
    if len(shape) != 2:
        raise _unsupported(c, x, f"a {len(shape)}-D input; only [N, features]")
    return c.get(src, "onnx"), shape[0], shape[1]


def _floats(c: _Converter, x: _Ctx, key: str, default: list | None = None) -> np.ndarray | None:
    """A float attribute, or its `_as_tensor` form (opset 3) when it holds float32."""
    if f"{key}_as_tensor" in x.attrs:
        t = x.attrs[f"{key}_as_tensor"]
        if t.data_type != TensorProto.FLOAT:
            raise _unsupported(c, x, f"{key}_as_tensor of {TensorProto.DataType.Name(t.data_type).lower()}; "
                                     "float32 only")
        return numpy_helper.to_array(t).astype(np.float32).reshape(-1)
    if key in x.attrs:
        return np.asarray(x.attrs[key], np.float32).reshape(-1)
    return None if default is None else np.asarray(default, np.float32)


def _ints(x: _Ctx, key: str) -> list[int]:
    return [int(v) for v in x.attrs.get(key, [])]


def _post(c: _Converter, x: _Ctx, allowed: tuple[str, ...] = POST_TRANSFORMS) -> str:
    post = x.attrs.get("post_transform", "NONE")
    if post not in allowed:
        raise _unsupported(c, x, f"post_transform {shown(post)}; supported: {', '.join(allowed)}")
    return post


def _class_labels(c: _Converter, x: _Ctx, key: str, binary: bool = False) -> np.ndarray:
    """Integer class labels: 3 or more, or with `binary` (onnxruntime's binary rules implemented) 2 or more."""
    if "classlabels_strings" in x.attrs:
        raise _unsupported(c, x, "classlabels_strings; integer class labels only")
    labels = np.asarray(_ints(x, key), np.int64)
    if labels.size < (2 if binary else 3):
        raise _unsupported(c, x, f"{labels.size} classes; binary classifiers are not supported (3 or more classes)")
    return labels


def _const(c: _Converter, base: str, value: np.ndarray) -> str:
    name = c.fresh(base)
    c.g.add_tensor(Tensor(name, value.shape, str(value.dtype), data=value))
    return name


def _linear(c: _Converter, x: _Ctx) -> None:
    src, n, k = _rows(c, x)
    classifier = x.op == "LinearClassifier"
    coef = _floats(c, x, "coefficients")
    if coef is None or coef.size == 0 or coef.size % k:
        raise _fail(c, x, f"coefficients are not rows of {k} features")
    w = coef.reshape(-1, k)
    bias = _floats(c, x, "intercepts", [0.0] * w.shape[0])
    if bias.size != w.shape[0]:
        raise _fail(c, x, f"{bias.size} intercepts for {w.shape[0]} coefficient rows")
    inputs = [src, _const(c, f"{x.name}_weights", w), _const(c, f"{x.name}_bias", bias)]
    outputs, binary = [], False
    if classifier:
        labels = _class_labels(c, x, "classlabels_ints", binary=True)
        binary = w.shape[0] == 1 and labels.size == 2
        if labels.size != w.shape[0] and not binary:
            raise _unsupported(c, x, f"{w.shape[0]} coefficient rows for {labels.size} classes")
        if binary and _post(c, x) not in ("NONE", "LOGISTIC"):
            raise _unsupported(c, x, f"post_transform {shown(_post(c, x))} of a binary classifier; NONE or LOGISTIC")
        inputs.append(_const(c, f"{x.name}_labels", labels))
        outputs.append(_value(c, x.outputs[0], (n,), "int64"))
    elif int(x.attrs.get("targets", 1)) != w.shape[0]:
        raise _fail(c, x, f"targets={x.attrs.get('targets', 1)} for {w.shape[0]} coefficient rows")
    outputs.append(_value(c, x.outputs[-1], (n, 2 if binary else w.shape[0])))
    post = _post(c, x) if classifier else _post(c, x, ("NONE",))  # as for tree regressors
    c._add_node("ml_linear", x.name, inputs, outputs, {"post_transform": post})


def _svm(c: _Converter, x: _Ctx) -> None:
    src, n, k = _rows(c, x)
    kernel = x.attrs.get("kernel_type", "LINEAR")
    if kernel not in KERNELS:
        raise _unsupported(c, x, f"kernel_type {shown(kernel)}; supported: {', '.join(KERNELS)}")
    _post(c, x, ("NONE",))
    gamma, coef0, degree = (list(_floats(c, x, "kernel_params", [0.0, 0.0, 0.0])) + [0.0] * 3)[:3]
    if kernel == "POLY" and (degree != int(degree) or not 0 <= degree <= 16):
        raise _unsupported(c, x, f"POLY degree {degree}; an integer 0..16")
    sv = _floats(c, x, "support_vectors", [])
    if sv.size == 0 or sv.size % k:
        raise _unsupported(c, x, f"support_vectors that are not rows of {k} features (linear mode)")
    attrs = {"kernel": kernel, "gamma": float(gamma), "coef0": float(coef0), "degree": int(degree),
             "vectors": sv.reshape(-1, k), "coef": _floats(c, x, "coefficients", []), "rho": _floats(c, x, "rho", [])}
    outputs = []
    if x.op == "SVMClassifier":
        for key in ("prob_a", "prob_b"):
            if x.attrs.get(key):
                raise _unsupported(c, x, f"{key} (probability estimates)")
        attrs["labels"] = _class_labels(c, x, "classlabels_ints", binary=True)
        attrs["per_class"] = tuple(_ints(x, "vectors_per_class"))
        pairs = max(attrs["labels"].size * (attrs["labels"].size - 1) // 2, 2)  # binary: [-score, score]
        outputs = [_value(c, x.outputs[0], (n,), "int64"), _value(c, x.outputs[1], (n, pairs))]
    else:
        if int(x.attrs.get("one_class", 0)):
            raise _unsupported(c, x, "one_class=1")
        outputs = [_value(c, x.outputs[0], (n, 1))]
    c._add_node("ml_svm", x.name, [src], outputs, attrs)


def _tree_ensemble(c: _Converter, x: _Ctx) -> None:
    src, n, k = _rows(c, x)
    classifier = x.op == "TreeEnsembleClassifier"
    trees, ids = _ints(x, "nodes_treeids"), _ints(x, "nodes_nodeids")
    modes = [str(m.decode() if isinstance(m, bytes) else m) for m in x.attrs.get("nodes_modes", [])]
    count = len(ids)
    features, trues = _ints(x, "nodes_featureids"), _ints(x, "nodes_truenodeids")
    falses = _ints(x, "nodes_falsenodeids")
    values = _floats(c, x, "nodes_values", [0.0] * count)
    missing = _ints(x, "nodes_missing_value_tracks_true") or [0] * count
    if count == 0 or any(len(a) != count for a in (trees, modes, features, trues, falses, values, missing)):
        raise _fail(c, x, "the nodes_* attributes are empty or of different lengths")
    index = {(t, i): g for g, (t, i) in enumerate(zip(trees, ids, strict=True))}
    if len(index) != count:
        raise _fail(c, x, "a (tree, node) id appears twice")
    for m in modes:
        if m not in MODES:
            raise _unsupported(c, x, f"node mode {shown(m)}; supported: {', '.join(MODES)}")
    code = [MODES[m] + (MISSING_TRUE if miss and MODES[m] else 0) for m, miss in zip(modes, missing, strict=True)]
    t_child, f_child = [0] * count, [0] * count
    for g in range(count):
        if code[g]:
            for child, out in ((trues[g], t_child), (falses[g], f_child)):
                if (trees[g], child) not in index:
                    raise _fail(c, x, f"node {ids[g]} of tree {trees[g]} has no child {child}")
                out[g] = index[(trees[g], child)]
    roots = _roots(c, x, trees, code, t_child, f_child)
    prefix = "class" if classifier else "target"
    l_trees, l_nodes = _ints(x, f"{prefix}_treeids"), _ints(x, f"{prefix}_nodeids")
    l_targets, l_weights = _ints(x, f"{prefix}_ids"), _floats(c, x, f"{prefix}_weights", [])
    if not len(l_trees) == len(l_nodes) == len(l_targets) == l_weights.size:
        raise _fail(c, x, f"the {prefix}_* attributes are of different lengths")
    leaf_of = []
    for t, i in zip(l_trees, l_nodes, strict=True):
        if (t, i) not in index or code[index[(t, i)]]:
            raise _fail(c, x, f"{prefix} weight on node {i} of tree {t}, which is not a leaf")
        leaf_of.append(index[(t, i)])
    spans: dict[int, list[int]] = {}
    for j, g in enumerate(leaf_of):
        first_last = spans.setdefault(g, [j, j, 0])
        first_last[1], first_last[2] = j, first_last[2] + 1
    if any(last - first + 1 != n for first, last, n in spans.values()):
        # onnxruntime reads a leaf's weights as one run from its first: scattered ones would be others' weights
        raise _unsupported(c, x, f"a leaf whose {prefix} weights are not consecutive")
    order = sorted(range(len(leaf_of)), key=lambda j: leaf_of[j])  # stable: each leaf's weights in model order
    leaf_first = np.searchsorted(np.asarray(sorted(leaf_of), np.int64), np.arange(count + 1)).tolist()
    base = _floats(c, x, "base_values")
    binary = None
    if classifier:
        labels = _class_labels(c, x, "classlabels_int64s", binary=True)
        n_out = labels.size
        if n_out == 2:
            if set(l_targets) != {0} or (base is not None and base.size > 1):
                raise _unsupported(c, x, "a binary classifier that scores both classes (or has 2 base_values)")
            if _post(c, x) not in ("NONE", "LOGISTIC"):
                raise _unsupported(c, x, f"post_transform {_post(c, x)} of a binary classifier; NONE or LOGISTIC")
            if base is None and any(leaf_first[g] == leaf_first[g + 1] for g in range(count) if not code[g]):
                raise _unsupported(c, x, "a binary classifier with unscored leaves, without base_values")
            binary = "mixed" if np.any(l_weights < 0) else "positive"  # onnxruntime: no weight < 0 (NaN is not)
            if binary == "positive" and _post(c, x) != "NONE":
                raise _unsupported(c, x, "post_transform LOGISTIC of a binary classifier with weights >= 0")
            n_out = 1
        elif base is None:  # onnxruntime leaves a class no leaf scored out of the label
            scored: dict[int, set[int]] = {g: set() for g in range(count) if not code[g]}
            for g, target in zip(leaf_of, l_targets, strict=True):
                scored[g].add(target)
            if any(classes != set(range(n_out)) for classes in scored.values()):
                raise _unsupported(c, x, "leaves that score only some classes, without base_values")
    else:
        n_out = int(x.attrs.get("n_targets", 1))
        aggregate = x.attrs.get("aggregate_function", "SUM")
        if aggregate not in ("SUM", "AVERAGE"):
            raise _unsupported(c, x, f"aggregate_function {shown(aggregate)}; supported: SUM, AVERAGE")
    if base is not None and base.size not in (0, n_out):
        raise _fail(c, x, f"{base.size} base_values for {n_out} scores")
    features = [f if m else 0 for f, m in zip(features, code, strict=True)]  # a leaf's is never read
    attrs = {"modes": code, "features": features, "thresholds": values, "trues": t_child, "falses": f_child,
             "leaf_first": leaf_first, "targets": [l_targets[j] for j in order],
             "weights": l_weights[order] if order else l_weights, "roots": roots,
             "base": base if base is not None and base.size else None, "n_out": n_out,
             "average": not classifier and aggregate == "AVERAGE", "binary": binary,
             # onnxruntime skips LOGISTIC / SOFTMAX on a single regression target: regressors take NONE only
             "post_transform": _post(c, x) if classifier else _post(c, x, ("NONE",))}
    outputs = []
    if classifier:
        attrs["labels"] = labels
        outputs.append(_value(c, x.outputs[0], (n,), "int64"))
    outputs.append(_value(c, x.outputs[-1], (n, 2 if binary else n_out)))
    c._add_node("ml_tree_ensemble", x.name, [src], outputs, attrs)


def _roots(c: _Converter, x: _Ctx, trees: list[int], code: list[int], t_child: list[int],
           f_child: list[int]) -> list[int]:
    """The root of each tree (trees in order of first appearance), each tree checked to be a tree: every node
    reached exactly once from its root."""
    children = {g for g in range(len(code)) if code[g] for g in (t_child[g], f_child[g])}
    roots: dict[int, int] = {}
    for g, t in enumerate(trees):
        if g not in children:
            if t in roots:
                raise _fail(c, x, f"tree {t} has more than one root")
            roots[t] = g
    seen = [0] * len(code)
    members: dict[int, list[int]] = {}
    for g, t in enumerate(trees):
        members.setdefault(t, []).append(g)
    for t in members:
        if t not in roots:
            raise _fail(c, x, f"tree {t} has no root (a cycle)")
        stack = [roots[t]]
        while stack:
            g = stack.pop()
            seen[g] += 1
            if seen[g] > 1:
                raise _fail(c, x, f"tree {t} reaches a node twice (not a tree)")
            if code[g]:
                stack += [t_child[g], f_child[g]]
        if not all(seen[g] for g in members[t]):
            raise _fail(c, x, f"tree {t} has nodes its root does not reach (a cycle)")
    return [roots[t] for t in members]


def _scaler(c: _Converter, x: _Ctx) -> None:
    src, n, k = _rows(c, x)
    attrs = {}
    for key, default in (("offset", 0.0), ("scale", 1.0)):
        v = _floats(c, x, key, [default])
        if v.size not in (1, k):
            raise _fail(c, x, f"{key} of {v.size} values for {k} features")
        attrs[key] = tuple(float(a) for a in np.broadcast_to(v, (k,)))
    c._add_node("ml_scaler", x.name, [src], [_value(c, x.outputs[0], (n, k))], attrs)


def _normalizer(c: _Converter, x: _Ctx) -> None:
    src, n, k = _rows(c, x)
    norm = x.attrs.get("norm", "MAX")
    if norm not in NORMS:
        raise _unsupported(c, x, f"norm {shown(norm)}; supported: {', '.join(NORMS)}")
    c._add_node("ml_normalizer", x.name, [src], [_value(c, x.outputs[0], (n, k))], {"norm": norm})


def _array_feature_extractor(c: _Converter, x: _Ctx) -> None:
    """Y = X[..., indices] (indices flattened, each in range): a gather along the last axis. A constant X
    looked up by run-time indices (skl2onnx's class-label lookup after ArgMax) is not supported."""
    idx = x.input(1)
    if x.input(0) in c.consts or idx not in c.consts:
        raise _unsupported(c, x, "a constant X or run-time indices (a class-label lookup after ArgMax)")
    src = _activation_input(c, x)
    shape = c.shapes[src]
    indices = np.asarray(c.consts[idx]).reshape(-1)
    if not shape or indices.dtype.kind not in "iu" or indices.size == 0:
        raise _fail(c, x, "needs a tensor input and integer indices")
    if indices.min() < 0 or indices.max() >= shape[-1]:
        raise _fail(c, x, f"an index is outside 0..{shape[-1] - 1}")
    ir = c.get(src, "onnx")
    out = _value(c, x.outputs[0], shape[:-1] + (indices.size,), c.g.tensor(ir).dtype)
    c._add_node("gather", x.name, [ir, _const(c, f"{x.name}_indices", indices.astype(np.int64))], [out],
                {"axis": len(shape) - 1})


def _zipmap(c: _Converter, x: _Ctx) -> None:
    src = _activation_input(c, x)
    keys = list(x.attrs.get("classlabels_int64s", x.attrs.get("classlabels_strings", [])))
    labels = len(keys)
    if len(c.shapes[src]) != 2 or c.shapes[src][1] != labels:
        raise _fail(c, x, f"{labels} class labels for scores of shape {list(c.shapes[src])}")
    if len(set(keys)) != labels:  # a map would keep one score per repeated key
        raise _unsupported(c, x, "repeated class labels")
    c.alias(x.outputs[0], src)


CONVERTERS: dict[str, Callable[[_Converter, _Ctx], None]] = {
    "ai.onnx.ml.LinearClassifier": _linear,
    "ai.onnx.ml.LinearRegressor": _linear,
    "ai.onnx.ml.SVMClassifier": _svm,
    "ai.onnx.ml.SVMRegressor": _svm,
    "ai.onnx.ml.TreeEnsembleClassifier": _tree_ensemble,
    "ai.onnx.ml.TreeEnsembleRegressor": _tree_ensemble,
    "ai.onnx.ml.Scaler": _scaler,
    "ai.onnx.ml.Normalizer": _normalizer,
    "ai.onnx.ml.ZipMap": _zipmap,
    "ai.onnx.ml.ArrayFeatureExtractor": _array_feature_extractor,
}
