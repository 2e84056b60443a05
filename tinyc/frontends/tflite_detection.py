"""TFLite_Detection_PostProcess (a CUSTOM operator, SSD's box decoding and NMS) -> a detection_postprocess node.

TFLM's Init reads the flexbuffer map by key: keys it does not know are ignored (converters add some, such as
_output_quantized), a missing detections_per_class is 100 and a missing use_regular_nms false; any other missing
key would read as 0, so tinyc requires it. Integers must be integers; floats may be written as integers (TFLM's
AsFloat converts them) and are rounded to float32 as there. tinyc.ops.detection_postprocess checks the ranges.
"""

from __future__ import annotations

import numpy as np

from tinyc.errors import ModelError, shown
from tinyc.frontends.tflite_signal import INT64, flexbuffer_map

CUSTOM_CODE = "TFLite_Detection_PostProcess"
INT, FLOAT, BOOL = "an integer", "a number", "a bool"
REQUIRED = {"max_detections": INT, "max_classes_per_detection": INT, "nms_score_threshold": FLOAT,
            "nms_iou_threshold": FLOAT, "num_classes": INT, "y_scale": FLOAT, "x_scale": FLOAT, "h_scale": FLOAT,
            "w_scale": FLOAT}
DEFAULTS = {"detections_per_class": 100, "use_regular_nms": False}
KINDS = REQUIRED | {"detections_per_class": INT, "use_regular_nms": BOOL}


def _value(where: str, key: str, value: object) -> int | float | bool:
    kind = KINDS[key]
    is_int = isinstance(value, int) and not isinstance(value, bool) and INT64[0] <= value <= INT64[1]
    if kind == INT and is_int:
        return int(value)
    if kind == FLOAT and (is_int or isinstance(value, float)):
        return float(np.float32(float(value)))
    if kind == BOOL and (isinstance(value, bool) or is_int):
        return bool(value)
    raise ModelError(f"{where}: custom option '{key}' must be {kind}, got {shown(repr(value))}")


def convert(r, op, ins: list[str]) -> tuple[str, dict]:  # noqa: ANN001
    where = f"{r.path}: {CUSTOM_CODE} operator"
    options = flexbuffer_map(r, op, CUSTOM_CODE) or {}
    missing = sorted(set(REQUIRED) - set(options))
    if missing:
        raise ModelError(f"{where} lacks the custom option(s) {', '.join(missing)}")
    attrs = dict(DEFAULTS) | {k: v for k, v in options.items() if k in KINDS}
    return "detection_postprocess", {k: _value(where, k, v) for k, v in attrs.items()}


CONVERTERS = {CUSTOM_CODE: convert}
