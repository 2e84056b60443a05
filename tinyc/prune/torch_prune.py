"""Pruning a PyTorch model before tinyc compiles it, with an optional fine-tuning hook to win back accuracy.

    pruned = prune_torch(model, 0.5, "channel", finetune=train_a_few_epochs)   # masks, your training loop
    graph = remove_channels(load_torch(pruned, example_input))                 # channels really removed
    qgraph = ptq(graph, calibration_samples)                                   # then int8 as usual

The masks are chosen by magnitude as in tinyc.prune (tinyc.prune.masks): whole output channels of
the layers whose channels can be removed ("channel"; importance: the L2 norm of a channel's weights
times its batch norm's |gamma / sqrt(var + eps)|, i.e. of the folded weights tinyc sees), the smallest
weights of every layer ("unstructured"), or N of every M consecutive weights in the order tinyc's
kernels read them ("n:m": a conv's rows are (ky, kx, input channel); a linear layer after a flatten
reads channels-last columns). They are applied as torch parametrizations (weight * mask), so the
user's `finetune(model)` trains the kept weights only; afterwards the masks are made permanent.

With "channel", a pruned channel's bias and its batch norms' gamma and beta (also after a depthwise
convolution in the chain) are masked too, so the channel is exactly 0 in the exported graph and
`remove_channels` removes it there, from the next layers' inputs as well.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyc.errors import InputError, TinycError
from tinyc.prune import masks

if TYPE_CHECKING:
    import torch

METHODS = ("channel", "unstructured", "n:m")


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise TinycError("pruning PyTorch models needs torch: pip install 'tinyc[torch]'") from None
    return torch


@dataclass
class Layer:
    """A conv / linear module and what pruning its output channels also masks."""

    name: str
    module: Any
    followers: list[Any] = field(default_factory=list)  # batch norms and depthwise convs in its chain
    removable: bool = False  # its output channels can be removed (only conv / linear layers read them)
    flat_input: tuple[int, ...] | None = None  # linear after a flatten: the (C, *spatial) shape flattened


def _kinds() -> dict[str, tuple]:
    nn = _torch().nn
    return {"conv": (nn.Conv1d, nn.Conv2d), "linear": (nn.Linear,), "bn": (nn.BatchNorm1d, nn.BatchNorm2d),
            "pass": (nn.ReLU, nn.ReLU6, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.Dropout,
                     nn.Identity),
            "flatten": (nn.Flatten,)}


def _is_depthwise(m: Any) -> bool:
    return m.groups > 1 and m.groups == m.in_channels == m.out_channels


def _classify(node: Any, modules: dict[str, Any]) -> str | None:
    torch = _torch()
    f = torch.nn.functional
    kinds = _kinds()
    if node.op == "call_module":
        m = modules[node.target]
        if isinstance(m, kinds["conv"]):
            return "depthwise" if _is_depthwise(m) else "sink"
        for kind in ("linear", "bn", "pass", "flatten"):
            if isinstance(m, kinds[kind]):
                return "sink" if kind == "linear" else kind
        return None
    if node.op == "call_function":
        if node.target in (torch.relu, f.relu, f.relu6, f.max_pool1d, f.max_pool2d, f.avg_pool1d,
                           f.avg_pool2d, f.dropout, torch.nn.functional.hardtanh):
            return "pass"
        if node.target in (torch.flatten, torch.reshape):
            return "flatten"
        return None
    if node.op == "call_method":
        if node.target in ("relu", "relu_"):
            return "pass"
        if node.target in ("flatten", "view", "reshape"):
            return "flatten"
    return None


def analyse(model: torch.nn.Module, example_input: Any = None) -> list[Layer]:
    """The conv / linear layers of the model, in execution order, with their channel chains."""
    torch = _torch()
    kinds = _kinds()
    modules = dict(model.named_modules())
    try:
        traced = torch.fx.symbolic_trace(model)
    except Exception as exc:
        raise TinycError(f"cannot trace {type(model).__name__} with torch.fx to find its layers' chains "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    if example_input is not None:
        from torch.fx.passes.shape_prop import ShapeProp

        from tinyc.frontends.torch import as_example

        with torch.no_grad():
            ShapeProp(traced).propagate(*as_example(example_input))
    layers = []
    for node in traced.graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], kinds["conv"] + kinds["linear"]):
            continue
        m = modules[node.target]
        layer = Layer(node.target, m)
        if not (isinstance(m, kinds["conv"]) and _is_depthwise(m)):
            layer.removable = _walk(node, modules, layer.followers, flat=False)
        if isinstance(m, kinds["linear"]):
            layer.flat_input = _flattened_shape(node)
        layers.append(layer)
    return layers


def _walk(node: Any, modules: dict[str, Any], followers: list[Any], flat: bool) -> bool:
    """Whether every path from `node` ends in a conv / linear reading it through channel-wise ops."""
    if not node.users:
        return False
    for user in node.users:
        if not user.args or user.args[0] is not node:
            return False
        kind = _classify(user, modules)
        if kind == "sink":
            m = modules[user.target]
            if flat and not isinstance(m, _kinds()["linear"]):
                return False
            continue
        if kind == "flatten":
            if not _walk(user, modules, followers, True):
                return False
        elif kind in ("pass", "bn", "depthwise") and not flat:
            if kind != "pass":
                followers.append(modules[user.target])
            if not _walk(user, modules, followers, False):
                return False
        else:
            return False
    return True


def _flattened_shape(node: Any) -> tuple[int, ...] | None:
    """For a linear layer fed by a flatten of a (N, C, *spatial) tensor: (C, *spatial)."""
    src = node.args[0]
    while hasattr(src, "op") and src.op != "placeholder":
        meta = src.meta.get("tensor_meta")
        if meta is None:
            return None
        if src.op in ("call_module", "call_function", "call_method") and src.args:
            inner = src.args[0]
            inner_meta = getattr(inner, "meta", {}).get("tensor_meta")
            if inner_meta is not None and len(inner_meta.shape) >= 3 and len(meta.shape) == 2:
                return tuple(int(d) for d in inner_meta.shape[1:])
            if inner_meta is None or tuple(inner_meta.shape) != tuple(meta.shape):
                return None
            src = inner
        else:
            return None
    return None


# --- weights in the order tinyc's kernels read them ---------------------------------------------------


def ir_rows(w: np.ndarray, layer: Layer) -> np.ndarray:
    """A module's weight as (output channel, reduction in tinyc's memory order)."""
    if w.ndim >= 3:  # conv (O, I, *K) -> (O, *K, I)
        return np.moveaxis(w, 1, -1).reshape(w.shape[0], -1)
    if layer.flat_input is not None and int(np.prod(layer.flat_input)) == w.shape[1]:
        c = layer.flat_input[0]
        return np.moveaxis(w.reshape((w.shape[0], c, -1)), 1, -1).reshape(w.shape[0], -1)
    return w


def from_ir_rows(rows: np.ndarray, shape: tuple[int, ...], layer: Layer) -> np.ndarray:
    if len(shape) >= 3:
        moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
        return np.moveaxis(rows.reshape(moved), -1, 1)
    if layer.flat_input is not None and int(np.prod(layer.flat_input)) == shape[1]:
        c = layer.flat_input[0]
        return np.moveaxis(rows.reshape((shape[0], -1, c)), -1, 1).reshape(shape)
    return rows.reshape(shape)


# --- masks --------------------------------------------------------------------------------------------


def _bn_scale(bn: Any) -> np.ndarray:
    w = bn.weight.detach().numpy() if bn.weight is not None else np.ones(bn.num_features)
    return np.abs(w.astype(np.float64)) / np.sqrt(bn.running_var.detach().numpy().astype(np.float64) + bn.eps)


def layer_masks(layers: list[Layer], sparsity: float | dict[str, float], method: str,
                n_m: tuple[int, int]) -> dict[str, np.ndarray]:
    """Per layer name, the keep-mask of its weight (module shape)."""
    out = {}
    for layer in layers:
        s = sparsity.get(layer.name, 0.0) if isinstance(sparsity, dict) else float(sparsity)
        if not 0.0 <= s <= 1.0:
            raise InputError(f"sparsity must be in [0, 1], got {s} for layer '{layer.name}'")
        if (s == 0.0 and method != "n:m") or (method == "channel" and not layer.removable):
            continue
        w = layer.module.weight.detach().numpy()
        rows = ir_rows(w, layer)
        if method == "channel":
            mag = np.abs(rows.astype(np.float64))
            bns = [f for f in layer.followers if isinstance(f, _kinds()["bn"])]
            if bns:  # the first batch norm after the layer scales its channels in the folded weights
                mag = mag * _bn_scale(bns[0])[:, None]
            keep = masks.channels(mag, s)
        elif method == "unstructured":
            keep = masks.unstructured(np.abs(rows), s)
        elif method == "n:m":
            keep = masks.n_of_m(np.abs(rows), *n_m)
        else:
            raise InputError(f"unknown pruning method '{method}' (expected {', '.join(METHODS)})")
        out[layer.name] = from_ir_rows(keep, w.shape, layer)
    return out


def _mask_module(torch: Any) -> Any:
    class Mask(torch.nn.Module):
        def __init__(self, mask: np.ndarray):
            super().__init__()
            self.register_buffer("mask", torch.from_numpy(np.ascontiguousarray(mask, np.float32)))

        def forward(self, w: torch.Tensor) -> torch.Tensor:
            return w * self.mask

    return Mask


def prune_torch(module: torch.nn.Module, sparsity: float | dict[str, float], method: str = "channel", *,
                finetune: Callable[[torch.nn.Module], None] | None = None, n_m: tuple[int, int] = (2, 4),
                example_input: Any = None) -> torch.nn.Module:
    """A pruned copy of a float torch module (the module itself is left as it is).

    `sparsity`: fraction of each layer's output channels ("channel") or weights ("unstructured") to
    prune, or a fraction per module name; ignored by "n:m" (1 - n/m). `finetune(model)` is called with
    the masks in place (as parametrizations: the pruned weights stay 0 while it trains) to recover
    accuracy. `example_input` (needed for "n:m" on a linear layer after a flatten) lets the
    analysis see activation shapes. Returns the pruned module in eval mode, masks made permanent."""
    torch = _torch()
    from torch.nn.utils import parametrize

    if method not in METHODS:
        raise InputError(f"unknown pruning method '{method}' (expected {', '.join(METHODS)})")
    model = copy.deepcopy(module)
    layers = analyse(model, example_input)
    keep = layer_masks(layers, sparsity, method, n_m)
    mask_cls = _mask_module(torch)
    masked: list[tuple[Any, str]] = []

    def add(m: Any, attr: str, mask: np.ndarray) -> None:
        if getattr(m, attr, None) is None:
            return
        parametrize.register_parametrization(m, attr, mask_cls(mask.reshape(getattr(m, attr).shape)))
        masked.append((m, attr))

    for layer in layers:
        if layer.name not in keep:
            continue
        k = keep[layer.name]
        add(layer.module, "weight", k)
        if method == "channel":
            alive = k.reshape(k.shape[0], -1).any(axis=1).astype(np.float32)
            add(layer.module, "bias", alive)
            for f in layer.followers:
                if isinstance(f, _kinds()["bn"]):
                    add(f, "weight", alive)
                    add(f, "bias", alive)
                else:  # depthwise conv
                    add(f, "weight", np.broadcast_to(alive.reshape((-1,) + (1,) * (f.weight.dim() - 1)),
                                                     f.weight.shape))
                    add(f, "bias", alive)
    if finetune is not None:
        model.train()
        finetune(model)
    with torch.no_grad():
        for m, attr in masked:
            if parametrize.is_parametrized(m, attr):
                parametrize.remove_parametrizations(m, attr, leave_parametrized=True)
    model.eval()
    return model


def torch_sparsity(model: torch.nn.Module) -> dict[str, float]:
    """Fraction of zero weights of each conv / linear module."""
    kinds = _kinds()
    return {name: float((m.weight == 0).float().mean()) for name, m in model.named_modules()
            if isinstance(m, kinds["conv"] + kinds["linear"])}
