"""TFLM's signal library custom ops (CUSTOM operators with code "Signal...") -> IR nodes.

Their options are a flexbuffer map in the operator's custom_options. TFLM's kernels read the map's values by
position in key order, so a map whose keys differ from the expected set would be misread there: tinyc accepts
exactly the expected keys, each of the expected type, and the op modules check the ranges.
"""

from __future__ import annotations

import tflite
from flatbuffers import flexbuffers

from tinyc.errors import ModelError, shown

INT, BOOL = "an integer", "a bool"
# custom code -> (IR op, {option key: kind})
SIGNAL_OPS = {
    "SignalWindow": ("signal_window", {"shift": INT}),
    "SignalFftAutoScale": ("signal_fft_auto_scale", {}),
    "SignalRfft": ("signal_rfft", {"T": INT, "fft_length": INT}),
    "SignalEnergy": ("signal_energy", {"end_index": INT, "start_index": INT}),
    "SignalFilterBank": ("signal_filter_bank", {"num_channels": INT}),
    "SignalFilterBankSquareRoot": ("signal_filter_bank_square_root", {}),
    "SignalFilterBankSpectralSubtraction": ("signal_filter_bank_spectral_subtraction", {
        "alternate_one_minus_smoothing": INT, "alternate_smoothing": INT, "clamping": BOOL,
        "min_signal_remaining": INT, "num_channels": INT, "one_minus_smoothing": INT, "smoothing": INT,
        "smoothing_bits": INT, "spectral_subtraction_bits": INT}),
    "SignalPCAN": ("signal_pcan", {"snr_shift": INT}),
    "SignalFilterBankLog": ("signal_filter_bank_log", {"input_correction_bits": INT, "output_scale": INT}),
    "SignalFramer": ("signal_framer", {"frame_size": INT, "frame_step": INT, "prefill": BOOL}),
    "SignalOverlapAdd": ("signal_overlap_add", {"T": INT, "frame_step": INT}),
    "SignalDelay": ("signal_delay", {"delay_length": INT}),
    "SignalStacker": ("signal_stacker", {"num_channels": INT, "stacker_left_context": INT,
                                         "stacker_right_context": INT, "stacker_step": INT}),
    "SignalIrfft": ("signal_irfft", {"T": INT, "fft_length": INT}),
}
RFFT_TYPES = {tflite.TensorType.INT16: "int16", tflite.TensorType.INT32: "int32",
              tflite.TensorType.FLOAT32: "float32"}
INT64 = (-(2**63), 2**63 - 1)


def flexbuffer_map(r, op, custom: str) -> dict | None:  # noqa: ANN001
    """A CUSTOM operator's flexbuffer options as a dict with string keys; None when it has no options."""
    where = f"{r.path}: {shown(custom)} operator"
    raw = bytes(op.CustomOptionsAsNumpy()) if op.CustomOptionsLength() else b""
    if op.CustomOptionsFormat() != tflite.CustomOptionsFormat.FLEXBUFFERS:
        raise ModelError(f"{where}: custom options are not a flexbuffer")
    if not raw:
        return None
    try:
        options = flexbuffers.Loads(raw)
    except Exception as exc:  # the flexbuffer reader fails in many ways on corrupt bytes
        raise ModelError(f"{where} has malformed custom options ({type(exc).__name__})") from None
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise ModelError(f"{where}: custom options are not a flexbuffer map")
    return options


def custom_options(r, op, custom: str) -> dict:  # noqa: ANN001
    """The operator's flexbuffer options as a dict, with exactly the keys and kinds SIGNAL_OPS lists."""
    where = f"{r.path}: {shown(custom)} operator"
    expected = SIGNAL_OPS[custom][1]
    options = flexbuffer_map(r, op, custom)
    if options is None:
        if expected:
            raise ModelError(f"{where} has no custom options (needs {', '.join(sorted(expected))})")
        return {}
    if set(options) != set(expected):
        raise ModelError(f"{where}: custom option keys {sorted(shown(k) for k in options)} are not the expected "
                         f"{sorted(expected)}")
    for key, kind in expected.items():
        value = options[key]
        ok = isinstance(value, bool) if kind == BOOL else (
            isinstance(value, int) and not isinstance(value, bool) and INT64[0] <= value <= INT64[1])
        if not ok:
            raise ModelError(f"{where}: custom option '{key}' must be {kind}, got {shown(repr(value))}")
    return options


def convert(r, op, ins: list[str], custom: str) -> tuple[str, dict]:  # noqa: ANN001
    ir_op, _ = SIGNAL_OPS[custom]
    attrs = custom_options(r, op, custom)
    if "T" in attrs:  # the tensor type of a templated kernel (Rfft, Irfft, OverlapAdd)
        kind = attrs.pop("T")
        if kind not in RFFT_TYPES:
            raise ModelError(f"{r.path}: {custom} operator has an unknown tensor type T={kind}")
        attrs["dtype"] = RFFT_TYPES[kind]
    return ir_op, attrs


def signal_converter(custom: str):  # noqa: ANN201
    """The converter of a custom op, or None when tinyc does not know its custom code."""
    if custom not in SIGNAL_OPS:
        return None
    return lambda r, op, ins: convert(r, op, ins, custom)
