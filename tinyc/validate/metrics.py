"""How far the deployed model's outputs are from the float original's (as ST Edge AI's validate reports them)."""

from __future__ import annotations

import numpy as np


def output_metrics(deployed: np.ndarray, original: np.ndarray) -> dict:
    """RMSE, max |error|, L2 relative error ||d - o|| / ||o||, cosine similarity, all over every value of the N
    samples (in float64), and top-1 agreement (argmax per sample) when the output has more than one value."""
    d = deployed.reshape(len(deployed), -1).astype(np.float64)
    o = original.reshape(len(original), -1).astype(np.float64)
    err = d - o
    norm_o, norm_d = float(np.linalg.norm(o)), float(np.linalg.norm(d))
    metrics = {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "max_abs_error": float(np.max(np.abs(err))),
        "l2_relative_error": float(np.linalg.norm(err) / norm_o) if norm_o > 0 else (0.0 if norm_d == 0 else None),
        "cosine": float(np.sum(d * o) / (norm_d * norm_o)) if norm_d > 0 and norm_o > 0 else None,
        "top1_agreement": None,
    }
    if d.shape[1] > 1:
        metrics["top1_agreement"] = float(np.mean(np.argmax(d, axis=1) == np.argmax(o, axis=1)))
    return metrics


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of samples whose argmax is the label."""
    return float(np.mean(np.argmax(outputs.reshape(len(outputs), -1), axis=1) == labels))
