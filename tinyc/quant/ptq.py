"""Post-training quantization in one call: calibrate, quantize, optionally correct biases."""

from __future__ import annotations

import numpy as np

from tinyc.ir import Graph
from tinyc.quant.bias_correction import correct_bias
from tinyc.quant.calibration import DEFAULT_PERCENTILE, calibrate
from tinyc.quant.data import check_samples
from tinyc.quant.quantize import as_float, check_float, quantize


def ptq(graph: Graph, samples: np.ndarray, method: str = "mse", bias_correction: bool = True,
        percentile: float = DEFAULT_PERCENTILE, per_channel_fc: bool = False, batch: int = 64) -> Graph:
    """The int8 graph of a float graph, calibrated on `samples` ((N, *input shape) float).
    A hybrid graph (int8 weights, float activations) is first made a plain float graph."""
    check_float(graph)
    graph = as_float(graph)
    samples = check_samples(graph, samples)
    ranges = calibrate(graph, samples, method, percentile, batch)
    qgraph = quantize(graph, ranges, per_channel_fc=per_channel_fc)
    if bias_correction:
        qgraph = correct_bias(graph, qgraph, samples, batch)
    return qgraph
