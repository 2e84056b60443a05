"""Pruning: zero the smallest weights (unstructured, whole output channels, or N of every M), choose
per-layer sparsities from a sensitivity scan, remove pruned channels from the graph, and report what it
costs and what it saves in the generated C.

    pruned = prune(graph, 0.5, "unstructured")                 # prune.py (masks.py: which weights)
    table = scan(graph, samples)                               # sensitivity.py
    pruned = prune(graph, allocate(graph, table, 0.5))         # per-layer sparsities reaching 50% overall
    smaller = remove_channels(prune(graph, 0.5, "channel"))    # structured.py: channels taken out
    model = prune_torch(model, 0.5, "channel", finetune=fit)   # torch_prune.py: masks + fine-tuning

Unstructured and N:M zeros stay in the graph; the int8 lowering stores such weights in a compact
encoding whose kernels skip them (tinyc.ops.sparse_weights).
"""

from tinyc.prune.prune import METHODS, LayerSparsity, prunable, prune, sparsity_report
from tinyc.prune.sensitivity import allocate, compare, scan
from tinyc.prune.structured import ChannelGroup, channel_groups, remove_channels
from tinyc.prune.torch_prune import prune_torch

__all__ = ["METHODS", "ChannelGroup", "LayerSparsity", "allocate", "channel_groups", "compare", "prunable",
           "prune", "prune_torch", "remove_channels", "scan", "sparsity_report"]
