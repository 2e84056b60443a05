"""The float original, run by an independent runtime (never by tinyc, which is the thing being graded):
TFLite files by LiteRT's reference kernels (ai_edge_litert), ONNX files by onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyc.errors import InputError, ToolchainError


def run_original(path: Path, batches: list[np.ndarray]) -> tuple[list[np.ndarray], str]:
    """Float32 batches (N, *shape), one per input -> one (N, *shape) array per output, and the runtime's name."""
    suffix = Path(path).suffix.lower()
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    if suffix == ".tflite":
        return _litert(Path(path), batches), "LiteRT (BUILTIN_REF kernels)"
    if suffix == ".onnx":
        return _onnxruntime(Path(path), batches), "onnxruntime (CPU)"
    raise InputError(f"{path}: the float original must be a .tflite or .onnx file (an independent runtime runs it)")


def _check(path: Path, k: int, shape: tuple[int, ...], dtype: str, x: np.ndarray) -> None:
    if dtype != "float32":
        raise InputError(f"{path}: input {k} is {dtype}; the original must be the float model")
    if tuple(shape) != x.shape[1:]:
        raise InputError(f"{path}: input {k} has shape {list(shape)}, the deployed model's {list(x.shape[1:])}")


def _litert(path: Path, batches: list[np.ndarray]) -> list[np.ndarray]:
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as exc:
        raise ToolchainError("running a .tflite original needs ai-edge-litert (pip install ai-edge-litert)") from exc
    try:
        interp = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise InputError(f"{path}: LiteRT cannot load it ({str(exc).strip()})") from None
    ins, outs = interp.get_input_details(), interp.get_output_details()
    if len(ins) != len(batches):
        raise InputError(f"{path}: the original has {len(ins)} inputs, the deployed model {len(batches)}")
    for k, (d, x) in enumerate(zip(ins, batches, strict=True)):
        _check(path, k, tuple(int(v) for v in d["shape"]), np.dtype(d["dtype"]).name, x)
    results: list[list[np.ndarray]] = [[] for _ in outs]
    for i in range(len(batches[0])):
        for d, x in zip(ins, batches, strict=True):
            interp.set_tensor(d["index"], x[i])
        interp.invoke()
        for r, d in zip(results, outs, strict=True):
            r.append(interp.get_tensor(d["index"]).copy())
    return [np.stack(r) for r in results]


def _onnxruntime(path: Path, batches: list[np.ndarray]) -> list[np.ndarray]:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ToolchainError("running an .onnx original needs onnxruntime (pip install onnxruntime)") from exc
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types for a bad file
        raise InputError(f"{path}: onnxruntime cannot load it ({str(exc).strip()})") from None
    ins = session.get_inputs()
    if len(ins) != len(batches):
        raise InputError(f"{path}: the original has {len(ins)} inputs, the deployed model {len(batches)}")
    for k, (d, x) in enumerate(zip(ins, batches, strict=True)):
        shape = tuple(v if isinstance(v, int) else x.shape[1 + j] for j, v in enumerate(d.shape))
        _check(path, k, shape, "float32" if d.type == "tensor(float)" else d.type, x)
    results = [session.run(None, {d.name: x[i] for d, x in zip(ins, batches, strict=True)})
               for i in range(len(batches[0]))]
    return [np.stack([np.asarray(r[j]) for r in results]) for j in range(len(results[0]))]
