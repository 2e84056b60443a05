"""TFLM's signal library ops (tensorflow/tflite-micro signal/: the micro_speech audio front end), one module each.

Each matches TFLM's kernel bit for bit, including its integer wraps; the NumPy helpers of the arithmetic they
share are in _fixed (msb, square root, log) and _kissfft (KISS FFT's int16 real FFT).
"""

from tinyc.ops.signal import (  # noqa: F401  (registration side effects)
    delay,
    energy,
    fft_auto_scale,
    filter_bank,
    filter_bank_log,
    filter_bank_spectral_subtraction,
    filter_bank_square_root,
    framer,
    irfft,
    overlap_add,
    pcan,
    rfft,
    stacker,
    window,
)
