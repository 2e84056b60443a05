"""PyTorch -> ir.Graph, through ONNX: the main entry for PyTorch models is the Python API.

    graph = load_torch(model, example_input)              # a torch.nn.Module (float32) and one input
    model = load_state_dict(MyNet(), "weights.pt")        # weights saved with torch.save(model.state_dict())
    graph = load_exported("model.pt2")                    # a torch.export program (torch.export.save)

The module is exported with PyTorch's TorchScript-based ONNX exporter (`dynamo=False`, no onnxscript
needed) to an in-memory ONNX model in eval mode, which tinyc's ONNX frontend reads: NCHW becomes the
IR's NHWC, 1-D convolutions and pools become 2-D ones of height 1, batch norms are folded, and the
graph's input and output keep PyTorch's layout (a user feeds the same arrays as to the module).

Files are never unpickled: a state_dict is read with `torch.load(..., weights_only=True)` into a
module class the caller supplies, and a `.pt2` program is loaded with PyTorch's weights-only
unpickler forced (a file needing anything else is refused). `tinyc quantize / prune / compile` accept
`.pt2` files and `.onnx` files exported from PyTorch; a state_dict needs its module class, so it is
Python-API only.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyc.errors import InputError, ModelError, TinycError
from tinyc.ir import Graph

if TYPE_CHECKING:
    import torch

DEFAULT_OPSET = 13


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise TinycError("the PyTorch frontend needs torch: pip install 'tinyc[torch]'") from None
    return torch


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def as_example(example_input: Any) -> tuple:
    """The example input(s) as a tuple of float32 tensors."""
    torch = _torch()
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    out = []
    for x in items:
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        if not isinstance(x, torch.Tensor):
            raise InputError(f"example input must be a torch.Tensor or numpy array, got {type(x).__name__}")
        out.append(x.detach().to(torch.float32).cpu())
    return tuple(out)


class _Frozen:
    """Wraps a module for export: eval mode without calling the wrapped module's train() (programs from
    torch.export refuse it)."""

    @staticmethod
    def wrap(module: torch.nn.Module) -> torch.nn.Module:
        torch = _torch()

        class Frozen(torch.nn.Module):
            def __init__(self, inner: torch.nn.Module):
                super().__init__()
                self.inner = inner

            def forward(self, *args: Any) -> Any:
                return self.inner(*args)

            def train(self, mode: bool = True) -> torch.nn.Module:  # noqa: ARG002
                return self

        return Frozen(module)


def onnx_bytes(module: torch.nn.Module, example_input: Any, opset: int = DEFAULT_OPSET) -> bytes:
    """The module (in eval mode) as an ONNX model, exported by PyTorch's TorchScript-based exporter."""
    torch = _torch()
    args = as_example(example_input)
    was_training = module.training
    module.eval()
    buffer = io.BytesIO()
    names = ["input"] if len(args) == 1 else [f"input{i}" for i in range(len(args))]
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, buffer, opset_version=opset, dynamo=False, input_names=names,
                              output_names=["output"], do_constant_folding=True)
    except TinycError:
        raise
    except Exception as exc:
        raise ModelError(f"torch module {type(module).__name__}: cannot export to ONNX "
                         f"({_one_line(exc)})") from None
    finally:
        module.train(was_training)
    return buffer.getvalue()


def load_torch(module: torch.nn.Module, example_input: Any, *, opset: int = DEFAULT_OPSET,
               name: str | None = None, optimize: bool = True) -> Graph:
    """A float32 torch.nn.Module and an example input (batch 1; tensor or array) -> ir.Graph."""
    from tinyc.frontends.onnx import load_onnx

    name = name or type(module).__name__
    data = onnx_bytes(module, example_input, opset)
    with tempfile.TemporaryDirectory(prefix="tinyc-torch-") as tmp:
        path = Path(tmp) / f"{name}.onnx"
        path.write_bytes(data)
        graph = load_onnx(path, optimize=optimize)
    graph.name = name
    graph.source = f"torch module {type(module).__name__}"
    return graph


def load_state_dict(module: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    """Load weights saved with torch.save(model.state_dict(), path) into `module` (weights only: the file's
    tensors and containers, never pickled objects); a {"state_dict": ...} or {"model": ...} checkpoint
    is unwrapped. Returns the module."""
    torch = _torch()
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: not a weights-only PyTorch file ({_one_line(exc)})") from None
    if isinstance(state, dict):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path}: not a state_dict (a mapping of names to tensors)")
    try:
        module.load_state_dict(state)
    except Exception as exc:
        raise ModelError(f"{path}: does not fit {type(module).__name__} ({_one_line(exc)})") from None
    return module


@contextlib.contextmanager
def _weights_only() -> Iterator[None]:
    """Every torch.load inside runs the weights-only unpickler, whatever its caller asks for."""
    keys = ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    old = {k: os.environ.get(k) for k in keys}
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _program_inputs(program: Any) -> tuple:
    """Zero tensors of the program's user inputs (dynamic dimensions as 1)."""
    torch = _torch()
    user = set(program.graph_signature.user_inputs)
    shapes = []
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user:
            val = node.meta.get("val")
            if val is None:
                raise ModelError(f"program input '{node.name}' has no recorded shape")
            shapes.append(tuple(d if isinstance(d, int) else 1 for d in val.shape))
    return tuple(torch.zeros(s) for s in shapes)


def load_exported(path: str | Path, *, opset: int = DEFAULT_OPSET) -> Graph:
    """A program saved with torch.export.save (`.pt2`) -> ir.Graph."""
    torch = _torch()
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        with _weights_only(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.load(str(path))
        example = _program_inputs(program)
        module = program.module()
    except TinycError:
        raise
    except Exception as exc:
        raise ModelError(f"{path}: not a torch.export program that tinyc can read "
                         f"({_one_line(exc)})") from None
    graph = load_torch(_Frozen.wrap(module), example, opset=opset, name=path.stem)
    graph.source = str(path)
    return graph


def load_torch_file(path: str | Path, module: torch.nn.Module | None = None,
                    example_input: Any = None) -> Graph:
    """`.pt2` (torch.export program) or a state_dict file for `module` (with `example_input`)."""
    path = Path(path)
    if path.suffix == ".pt2":
        return load_exported(path)
    if module is None or example_input is None:
        raise ModelError(f"{path}: a PyTorch state_dict holds no network structure; load it in Python with "
                         "tinyc.frontends.torch.load_torch_file(path, module=YourNet(), example_input=x), "
                         "or export a .pt2 (torch.export.save) or .onnx (torch.onnx.export)")
    graph = load_torch(load_state_dict(copy.deepcopy(module), path), example_input, name=path.stem)
    graph.source = str(path)
    return graph


def torch_outputs(module: torch.nn.Module, samples: np.ndarray | Sequence, batch: int = 256) -> np.ndarray:
    """The module's float outputs on float samples (N, *input shape), in eval mode, as a numpy array."""
    torch = _torch()
    was_training = module.training
    module.eval()
    outs = []
    try:
        with torch.no_grad():
            for start in range(0, len(samples), batch):
                x = torch.from_numpy(np.ascontiguousarray(samples[start:start + batch], np.float32))
                outs.append(module(x).numpy())
    finally:
        module.train(was_training)
    return np.concatenate(outs)
