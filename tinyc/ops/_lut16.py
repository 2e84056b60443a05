"""TFLM's int16 logistic and tanh (reference_integer_ops::Logistic / Tanh on int16): a 256-entry table of
sigmoid(i / 24) in Q0.16, linearly interpolated. The LSTM gates use them; the C is `templates/_lut16.j2`.

Inputs are int16 values (held in any integer array); `multiplier` 0 means TFLM's power-of-two case
(multiplier 3 << left_shift, no shift).
"""

from __future__ import annotations

import numpy as np

# sigmoid(i / 24) in Q0.16 (TFLM's sigmoid_table_uint16, tensorflow/lite/kernels/internal/common.h)
SIGMOID_TABLE_U16 = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
], np.int64)


def _scaled(x: np.ndarray, multiplier: int, left_shift: int) -> np.ndarray:
    if multiplier == 0:
        multiplier, left_shift = 3 << left_shift, 0
    rounding = 1 << (left_shift - 1) if left_shift > 0 else 0
    return (np.asarray(x, np.int64) * multiplier + rounding) >> left_shift


def _interpolate(a: np.ndarray, frac_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Table value at |input| with `frac_bits` fractional bits, times 2**frac_bits; and where it saturates."""
    uh = a >> frac_bits
    saturated = uh >= 255
    i = np.minimum(uh, 254)
    ua, ub = SIGMOID_TABLE_U16[i], SIGMOID_TABLE_U16[i + 1]
    return (ua << frac_bits) + (a & ((1 << frac_bits) - 1)) * (ub - ua), saturated


def logistic_s16(x: np.ndarray, multiplier: int = 0, left_shift: int = 0) -> np.ndarray:
    """Q3.12 in (the LSTM's gates), Q0.15 out."""
    v = _scaled(x, multiplier, left_shift)
    result, saturated = _interpolate(np.abs(v), 9)
    result = np.where(saturated, 0x7FFF << 10, result)
    result = np.where(v >= 0, result + (1 << 9), (1 << 25) - result + (1 << 9) - 1)
    return (result >> 10).astype(np.int16)


def tanh_s16(x: np.ndarray, multiplier: int = 0, left_shift: int = 0) -> np.ndarray:
    v = _scaled(x, multiplier, left_shift)
    result, saturated = _interpolate(np.abs(v), 8)
    result = np.where(saturated, 0xFFFF << 8, result)
    result = np.where(v >= 0, result - (1 << 23) + (1 << 7), -result + (1 << 23) + (1 << 7) - 1)
    return (result >> 8).astype(np.int16)
