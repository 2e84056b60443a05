"""Pruning: zero the smallest weights (unstructured, whole output channels, or N of every M), choose
per-layer sparsities from a sensitivity scan, and report what it costs and what a sparse kernel saves.

    pruned = prune(graph, 0.5, "unstructured")                 # prune.py (masks.py: which weights)
    table = scan(graph, samples)                               # sensitivity.py
    pruned = prune(graph, allocate(graph, table, 0.5))         # per-layer sparsities reaching 50% overall
"""

from tinyc.prune.prune import METHODS, LayerSparsity, prunable, prune, sparsity_report
from tinyc.prune.sensitivity import allocate, compare, scan

__all__ = ["METHODS", "LayerSparsity", "allocate", "compare", "prunable", "prune", "scan", "sparsity_report"]
