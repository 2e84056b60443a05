"""Real ONNX exports built at test time (no .onnx file is checked in), for tests/test_onnx_exports.py and the
quantized (QDQ) tests that reuse them.

Each builder writes one model to `path` and returns an `Export` (the path, the input shape without its batch
axis of 1, and how to draw realistic inputs):

- `build_mobilenet_v2(path)`: MobileNetV2 (Sandler et al. 2018, the torchvision layout: inverted residuals
  with ReLU6, width multiplier 0.35, channels rounded to multiples of 8) on 80x80 RGB with 2 classes (the
  Visual Wake Words head; at 96x96 the float model needs 649 KiB of RAM unbanded, more than the STM32L4R5's
  640: tests/test_patch.py runs it there in row bands),
  random weights with random batch-norm statistics, `torch.onnx.export` (the TorchScript exporter, opset 17).
- `build_lstm_kws(path)`: keyword spotting on 49 frames of 10 MFCCs (the MLPerf Tiny KWS features): a
  2-layer LSTM of 64 units, the last step's hidden state into a 12-way linear layer, `torch.onnx.export`.
- `build_keras_model(path)`: a Keras 3 (TensorFlow backend) depthwise-separable CNN with a residual add on
  32x32 RGB, 10-way softmax, converted by tf2onnx (`tf2onnx.convert.from_keras`, opset 17). Needs
  tensorflow and tf2onnx (in the `dev` extra); `keras_available()` says whether they import.

Torch seeds are fixed, so a builder writes the same model on every run.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OPSET = 17


@dataclass(frozen=True)
class Export:
    path: Path
    shape: tuple[int, ...]  # one sample, with the model's batch axis of 1
    sample: Callable[[np.random.Generator, int], np.ndarray]  # rng, n -> (n, *shape) float32

    def inputs(self, n: int, seed: int = 0) -> np.ndarray:
        return self.sample(np.random.default_rng(seed), n).astype(np.float32)


def _make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible: round to a multiple of `divisor`, never below 90% of v."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _mobilenet_v2(width: float, classes: int):  # noqa: ANN202
    import torch
    from torch import nn

    def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
        layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        return nn.Sequential(*layers, nn.ReLU6()) if relu else nn.Sequential(*layers)

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, expand: int):
            super().__init__()
            hidden = cin * expand
            layers = [conv_bn(cin, hidden, 1)] if expand != 1 else []
            layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, cout, 1, relu=False)]
            self.block = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.block(x) if self.residual else self.block(x)

    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1)]  # expansion, channels, repeats, first stride
    cin = _make_divisible(32 * width)
    last = _make_divisible(1280 * max(1.0, width))
    layers: list[nn.Module] = [conv_bn(3, cin, 3, 2)]
    for t, c, n, s in settings:
        cout = _make_divisible(c * width)
        for i in range(n):
            layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
            cin = cout
    layers.append(conv_bn(cin, last, 1))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, classes))


def _randomize_batch_norms(model, gen) -> None:  # noqa: ANN001
    """Random running statistics and affine parameters, so that folding them is exercised."""
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def _torch_export(model, shape: tuple[int, ...], path: Path) -> None:  # noqa: ANN001
    import torch

    model.eval()
    torch.onnx.export(model, torch.zeros(shape), str(path), input_names=["input"], output_names=["output"],
                      opset_version=OPSET, dynamo=False)


def build_mobilenet_v2(path: Path, width: float = 0.35, size: int = 80, classes: int = 2) -> Export:
    import torch

    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = _mobilenet_v2(width, classes)
    _randomize_batch_norms(model, gen)
    shape = (1, 3, size, size)
    with torch.no_grad():
        _torch_export(model, shape, path)
    return Export(path, shape, lambda rng, n: rng.normal(0.0, 1.0, (n,) + shape))  # normalised pixels


def build_lstm_kws(path: Path, frames: int = 49, mfcc: int = 10, units: int = 64, layers: int = 2,
                   classes: int = 12) -> Export:
    import torch
    from torch import nn

    class LstmKws(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(mfcc, units, num_layers=layers, batch_first=True)
            self.fc = nn.Linear(units, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y, _ = self.lstm(x)
            return self.fc(y[:, -1])

    torch.manual_seed(0)
    shape = (1, frames, mfcc)
    with torch.no_grad():
        _torch_export(LstmKws(), shape, path)
    # MFCCs as the KWS front end gives them: the first coefficient large and negative, the rest smaller
    scale = np.array([8.0] + [3.0] * (mfcc - 1))
    offset = np.array([-20.0] + [0.0] * (mfcc - 1))
    return Export(path, shape, lambda rng, n: offset + scale * rng.normal(0.0, 1.0, (n,) + shape))


def keras_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("tensorflow", "keras", "tf2onnx"))


def build_keras_model(path: Path, size: int = 32, classes: int = 10) -> Export:
    import keras
    import tensorflow as tf
    import tf2onnx

    keras.utils.set_random_seed(0)
    layers = keras.layers
    inp = keras.Input((size, size, 3), batch_size=1, name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for _ in range(2):
        y = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        y = layers.BatchNormalization()(y)
        y = layers.ReLU(6.0)(y)
        y = layers.Conv2D(16, 1, use_bias=False)(y)
        y = layers.BatchNormalization()(y)
        x = layers.Add()([x, y])
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(classes, activation="softmax")(x)
    model = keras.Model(inp, x)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.75, 1.25, n), rng.normal(0, 0.1, n), rng.normal(0, 0.1, n),
                               rng.uniform(0.5, 1.0, n)])
    shape = (1, size, size, 3)
    spec = (tf.TensorSpec(shape, tf.float32, name="image"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET, output_path=str(path))
    return Export(path, shape, lambda rng, n: rng.uniform(0.0, 1.0, (n,) + shape))  # pixels scaled to [0, 1]
