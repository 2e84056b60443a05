"""Post-training static int8 quantization of float graphs, following the TFLite quantization spec.

    ranges = calibrate(graph, samples, method="mse")     # calibration.py (+ observe.py)
    qgraph = quantize(graph, ranges)                     # quantize.py (scheme.py: the int8 rules)
    qgraph = correct_bias(graph, qgraph, samples)        # bias_correction.py
    report = evaluate(graph, qgraph, samples)            # metrics.py
    qgraph = ptq(graph, samples)                         # all of the above but evaluation
"""

from tinyc.quant.bias_correction import correct_bias
from tinyc.quant.calibration import METHODS, calibrate
from tinyc.quant.data import check_samples, load_samples
from tinyc.quant.metrics import Report, evaluate, render
from tinyc.quant.ptq import ptq
from tinyc.quant.quantize import dequantize_output, quantize, quantize_input
from tinyc.quant.scheme import activation_quant, quantize_weights

__all__ = ["METHODS", "Report", "activation_quant", "calibrate", "check_samples", "correct_bias",
           "dequantize_output", "evaluate", "load_samples", "ptq", "quantize", "quantize_input",
           "quantize_weights", "render"]
