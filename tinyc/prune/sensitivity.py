"""How much each layer can be pruned: a per-layer sensitivity scan, and per-layer sparsities from it.

The scan prunes one layer at a time to each level and measures the SNR of the model output against
the unpruned model on sample inputs. `allocate` then picks per-layer sparsities reaching an overall
fraction of zero weights, greedily taking the step that adds the least output noise per weight
removed (the noise of layers pruned together taken as adding up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.prune.prune import prunable, prune, rows
from tinyc.quant.bias_correction import correct_bias
from tinyc.quant.data import check_samples
from tinyc.quant.metrics import is_classifier, snr_db
from tinyc.quant.scheme import dequantize_values, quantize_values
from tinyc.runtime import run_plan

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)

Table = dict[str, dict[float, float]]  # node -> sparsity -> output SNR (dB)


@dataclass
class Comparison:
    samples: int
    output_snr_db: float
    top1_agree: int | None  # classifiers only


def outputs(graph: Graph, samples: np.ndarray) -> np.ndarray:
    """Float outputs on float samples; an int8 graph quantizes its input and dequantizes its output."""
    x = samples
    inp = graph.tensor(graph.inputs[0])
    if inp.dtype == "int8":
        x = quantize_values(samples, inp.quant)
    y = run_plan(lower(graph), [x])[graph.outputs[0]]
    out = graph.tensor(graph.outputs[0])
    return dequantize_values(y, out.quant) if out.dtype == "int8" else y.astype(np.float64)


def compare(reference: Graph, graph: Graph, samples: np.ndarray, classifier: bool | None = None,
            ref_outputs: np.ndarray | None = None) -> Comparison:
    samples = check_samples(reference, samples)
    ref = outputs(reference, samples) if ref_outputs is None else ref_outputs
    got = outputs(graph, samples)
    snr = snr_db(float(np.sum(ref * ref)), float(np.sum((ref - got) ** 2)))
    classifier = is_classifier(reference) if classifier is None else classifier
    agree = None
    if classifier:
        agree = int(np.sum(ref.reshape(len(ref), -1).argmax(1) == got.reshape(len(got), -1).argmax(1)))
    return Comparison(len(samples), snr, agree)


def scan(graph: Graph, samples: np.ndarray, method: str = "unstructured", levels: tuple[float, ...] = LEVELS,
         bias_correction: bool = True) -> Table:
    """Output SNR with one layer pruned at each level (its bias corrected on the samples, if asked:
    float graphs only)."""
    samples = check_samples(graph, samples)
    ref = outputs(graph, samples)
    correct = bias_correction and graph.tensor(graph.inputs[0]).dtype == "float32"
    table: Table = {}
    layers = prunable(graph)
    if method == "channel":  # only the layers whose channels can be removed are channel-pruned
        from tinyc.prune.structured import channel_groups

        sources = {g.source.name for g in channel_groups(graph)}
        layers = [n for n in layers if n.name in sources]
    for node in tqdm(layers, desc="sensitivity scan", unit="layer", disable=None, leave=False):
        table[node.name] = {}
        for s in levels:
            pruned = prune(graph, {node.name: s}, method)
            if correct:
                pruned = correct_bias(graph, pruned, samples, only={node.name})
            table[node.name][s] = compare(graph, pruned, samples, False, ref).output_snr_db
    return table


def allocate(graph: Graph, table: Table, target: float) -> dict[str, float]:
    """Per-layer sparsities from the scan whose zeros make up at least `target` of all prunable weights
    (as close as the scanned levels allow)."""
    params = {n.name: rows(graph.tensor(n.inputs[1]).data, n.op).size for n in prunable(graph)}
    total = sum(params.values())
    steps = {name: [0.0] + sorted(table[name]) for name in table}
    level = dict.fromkeys(table, 0)

    def noise(name: str, i: int) -> float:
        s = steps[name][i]
        return 0.0 if s == 0.0 else 10.0 ** (-table[name][s] / 10.0)

    removed = 0.0
    while removed < target * total:
        best, best_cost = None, np.inf
        for name, i in level.items():
            if i + 1 < len(steps[name]):
                gain = params[name] * (steps[name][i + 1] - steps[name][i])
                cost = (noise(name, i + 1) - noise(name, i)) / gain
                if cost < best_cost:
                    best, best_cost = name, cost
        if best is None:
            break
        removed += params[best] * (steps[best][level[best] + 1] - steps[best][level[best]])
        level[best] += 1
    return {name: steps[name][i] for name, i in level.items()}
