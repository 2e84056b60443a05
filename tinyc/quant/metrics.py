"""What quantization costs: top-1 agreement (classifiers), SNR per layer and at the output, float vs int8."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.quant.data import check_samples
from tinyc.quant.observe import activations
from tinyc.quant.scheme import dequantize_values, quantize_values
from tinyc.runtime import run_plan


@dataclass
class LayerSNR:
    node: str
    op: str
    tensor: str
    snr_db: float


@dataclass
class Report:
    model: str
    samples: int
    output_snr_db: float
    output_mse: float  # mean squared difference, float vs dequantized int8 output
    classifier: bool
    top1_agree: int = 0  # samples whose int8 top-1 class equals the float one (classifiers only)
    layers: list[LayerSNR] = field(default_factory=list)
    settings: dict = field(default_factory=dict)  # how the model was quantized (method, bias correction, ...)

    @property
    def top1_agreement(self) -> float:
        return self.top1_agree / self.samples if self.samples else 0.0

    def to_json(self) -> dict:
        """A JSON-safe dict; an infinite SNR (no error at all) becomes null."""
        doc = asdict(self)
        doc["top1_agreement"] = self.top1_agreement if self.classifier else None
        doc["output_snr_db"] = _finite(self.output_snr_db)
        for layer in doc["layers"]:
            layer["snr_db"] = _finite(layer["snr_db"])
        return doc


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def snr_db(signal_power: float, noise_power: float) -> float:
    if noise_power == 0.0:
        return math.inf
    if signal_power == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal_power / noise_power)


def is_classifier(graph: Graph) -> bool:
    """A graph whose output comes from a softmax."""
    return any(node.op == "softmax" and graph.outputs[0] in node.outputs for node in graph.nodes)


def evaluate(float_graph: Graph, qgraph: Graph, samples: np.ndarray, batch: int = 64,
             classifier: bool | None = None) -> Report:
    """Run both graphs on the samples and compare every node output and the graph output."""
    samples = check_samples(float_graph, samples)
    classifier = is_classifier(float_graph) if classifier is None else classifier
    fplan, qplan = lower(float_graph), lower(qgraph)
    names = [n.outputs[0] for n in qgraph.nodes]
    signal = dict.fromkeys(names, 0.0)
    noise = dict.fromkeys(names, 0.0)
    agree, start = 0, 0
    in_quant = qgraph.tensor(qgraph.inputs[0]).quant
    for fvals in activations(fplan, samples, batch, "evaluate"):
        x = samples[start:start + len(fvals[float_graph.inputs[0]])]
        start += len(x)
        qvals = run_plan(qplan, [quantize_values(x, in_quant)], keep_all=True)
        for name in names:
            f = fvals[name].astype(np.float64)
            d = dequantize_values(qvals[name], qgraph.tensor(name).quant)
            signal[name] += float(np.sum(f * f))
            noise[name] += float(np.sum((f - d) ** 2))
        if classifier:
            out = qgraph.outputs[0]
            f_top = fvals[out].reshape(len(x), -1, fvals[out].shape[-1]).argmax(-1)
            q_top = qvals[out].reshape(len(x), -1, qvals[out].shape[-1]).argmax(-1)
            agree += int(np.count_nonzero(np.all(f_top == q_top, axis=1)))
    out = qgraph.outputs[0]
    size = len(samples) * qgraph.tensor(out).size
    layers = [LayerSNR(n.name, n.op, n.outputs[0], snr_db(signal[n.outputs[0]], noise[n.outputs[0]]))
              for n in qgraph.nodes]
    return Report(float_graph.name, len(samples), snr_db(signal[out], noise[out]), noise[out] / size,
                  classifier, agree, layers)


def render(report: Report) -> str:
    """The report as Markdown text: summary lines, then a table of SNR per layer."""
    lines = [f"# Quantization report: {report.model}", ""]
    for key, value in report.settings.items():
        lines.append(f"- {key}: {value}")
    lines.append(f"- evaluation samples: {report.samples}")
    if report.classifier:
        lines.append(f"- top-1 agreement float vs int8: {report.top1_agree}/{report.samples} "
                     f"({100 * report.top1_agreement:.2f}%)")
    lines += [f"- output SNR: {report.output_snr_db:.2f} dB",
              f"- output MSE (float domain): {report.output_mse:.6g}",
              "", "| # | node | op | SNR (dB) |", "|---:|---|---|---:|"]
    lines += [f"| {i} | {layer.node} | {layer.op} | {layer.snr_db:.2f} |"
              for i, layer in enumerate(report.layers)]
    return "\n".join(lines) + "\n"
