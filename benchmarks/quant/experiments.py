"""The PTQ experiments behind benchmarks/quant/ptq_results.md (and tests/test_quant_results.py).

AD: reconstruction MSE of the MLPerf Tiny anomaly-detection autoencoder on the real log-mel windows,
calibrated on the first windows, evaluated on later windows that share no frame with them.
KWS, IC: how often the int8 model's top-1 class equals the float model's, on synthetic inputs in the
models' real input ranges, for tinyc's PTQ and for the official int8 model, measured the same way:
float input -> the int8 model's own input quantization -> int8 model -> argmax.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.frontends import load_model
from tinyc.ir import Graph
from tinyc.lower import lower
from tinyc.quant import dequantize_output, ptq, quantize_input
from tinyc.quant.quantize import as_float
from tinyc.runtime import run_plan

KWS_RANGE = ((-128 - 83) * 0.584703, (127 - 83) * 0.584703)  # the official int8 input's representable range
MODELS = Path(__file__).resolve().parents[3] / "shared" / "models" / "mlperf_tiny"
FLOAT = {"ad": "ad/ad01_fp32.tflite", "kws": "kws/kws_ref_model_float32.tflite",
         "ic": "ic/pretrainedResnet.tflite"}
INT8 = {"ad": "ad/ad01_int8.tflite", "kws": "kws/kws_ref_model.tflite",
        "ic": "ic/pretrainedResnet_quant.tflite"}
INPUT_RANGE = {"kws": KWS_RANGE, "ic": (0.0, 255.0)}
SPECTROGRAM = "ad/normal_id_01_00000000_hist_librosa.bin"
FRAMES, MELS, WINDOW = 200, 128, 5


# --- data ---------------------------------------------------------------------------------------


def ad_windows(models: Path = MODELS) -> np.ndarray:
    """The 196 windows of 5 consecutive frames (640 values), as (196, 1, 640) float32."""
    spec = np.fromfile(models / SPECTROGRAM, dtype=np.float32).reshape(FRAMES, MELS)
    return np.stack([spec[i:i + WINDOW].reshape(-1) for i in range(FRAMES - WINDOW + 1)])[:, None, :]


def ad_split(windows: np.ndarray, n_calib: int = 94) -> tuple[np.ndarray, np.ndarray]:
    """Calibration: windows 0..n_calib-1; evaluation: the windows after them that share no frame."""
    return windows[:n_calib], windows[n_calib + WINDOW - 1:]


def _smooth(x: np.ndarray, k: int, axis: int) -> np.ndarray:
    kernel = np.ones(k) / k
    return np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), axis, x)


def synthetic_kws(n: int, seed: int, models: Path = MODELS) -> np.ndarray:
    """MFCC-like inputs (1, 49, 10, 1): half synthetic utterances (an energy coefficient that is at the
    floor in silence and high in a spoken segment, smooth decaying higher coefficients), half the
    benchmark's sample input shifted in time, rescaled and noised. Clipped to the real input range."""
    rng = np.random.default_rng(seed)
    lo, hi = KWS_RANGE
    sample = np.load(models / "kws/kws_sample_input.npy").astype(np.float32).reshape(49, 10)
    real = (sample - 83) * 0.584703
    out = np.empty((n, 49, 10))
    for i in range(n):
        if i % 2:
            x = np.roll(real, int(rng.integers(-15, 16)), axis=0) * rng.uniform(0.5, 1.5)
            out[i] = x + rng.normal(0, rng.uniform(0, 6), x.shape)
            continue
        start = int(rng.integers(0, 41))
        length = int(rng.integers(8, 50 - start))
        c0 = np.full(49, lo)
        c0[start:start + length] = rng.uniform(-20, 25) + _smooth(rng.normal(0, 8, length), 5, 0)
        sigma = rng.uniform(1, 12) / np.arange(1, 10) ** rng.uniform(0.3, 1.0)
        rest = _smooth(rng.normal(0, 1, (49, 9)), int(rng.integers(1, 6)), 0) * sigma
        silent = c0 <= lo + 1
        rest[silent] = rng.normal(0, 0.5, (int(silent.sum()), 9))
        out[i, :, 0], out[i, :, 1:] = c0, rest
    return np.clip(out, lo, hi).astype(np.float32).reshape(n, 1, 49, 10, 1)


def synthetic_ic(n: int, seed: int) -> np.ndarray:
    """Image-like inputs (1, 32, 32, 3), pixels 0..255: smooth random colour fields (a 2x2 to 16x16 grid
    of colours, bilinearly upsampled) with random brightness, contrast and pixel noise."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 32, 32, 3))
    for i in range(n):
        g = int(rng.choice([2, 4, 8, 16]))
        low = rng.uniform(0, 255, (g, g, 3)) * rng.uniform(0.3, 1.0) + rng.uniform(-60, 60)
        pos = np.arange(32) * (g - 1) / 31
        i0 = np.floor(pos).astype(int)
        i1, f = np.minimum(i0 + 1, g - 1), pos - i0
        rows = low[i0] * (1 - f)[:, None, None] + low[i1] * f[:, None, None]
        img = rows[:, i0] * (1 - f)[None, :, None] + rows[:, i1] * f[None, :, None]
        out[i] = img + rng.normal(0, rng.uniform(0, 30), img.shape)
    return np.clip(out, 0, 255).astype(np.float32).reshape(n, 1, 32, 32, 3)


# --- measurements -------------------------------------------------------------------------------


def float_outputs(graph: Graph, x: np.ndarray) -> np.ndarray:
    return run_plan(lower(graph), [x])[graph.outputs[0]].astype(np.float64)


def int8_outputs(qgraph: Graph, x: np.ndarray) -> np.ndarray:
    """Float inputs through the int8 graph's own input quantization; outputs dequantized."""
    return dequantize_output(qgraph, run_plan(lower(qgraph), [quantize_input(qgraph, x)])[qgraph.outputs[0]])


def reconstruction_mse(outputs: np.ndarray, x: np.ndarray) -> float:
    """Mean over windows of the mean squared reconstruction error (the AD anomaly score)."""
    return float(((outputs.reshape(len(x), -1) - x.reshape(len(x), -1)) ** 2).mean(axis=1).mean())


def top1(outputs: np.ndarray) -> np.ndarray:
    return outputs.reshape(len(outputs), -1).argmax(axis=1)


@dataclass
class Setting:
    method: str = "mse"
    bias_correction: bool = True
    per_channel_fc: bool = False

    @property
    def label(self) -> str:
        extras = (("bias corr.", self.bias_correction), ("per-channel FC", self.per_channel_fc))
        return " + ".join([self.method] + [name for name, on in extras if on])


def ad_results(settings: list[Setting], models: Path = MODELS) -> dict[str, float]:
    """Mean reconstruction MSE on the evaluation windows: float, official int8, tinyc PTQ per setting."""
    calib, evaluation = ad_split(ad_windows(models))
    fgraph = load_model(models / FLOAT["ad"])
    official = load_model(models / INT8["ad"])
    out = {"float": reconstruction_mse(float_outputs(fgraph, evaluation), evaluation),
           "official int8": reconstruction_mse(int8_outputs(official, evaluation), evaluation)}
    for s in settings:
        q = ptq(fgraph, calib, s.method, s.bias_correction, per_channel_fc=s.per_channel_fc)
        out[f"tinyc {s.label}"] = reconstruction_mse(int8_outputs(q, evaluation), evaluation)
    return out


def classifier_results(key: str, settings: list[Setting], n_calib: int, n_eval: int, models: Path = MODELS,
                       mismatched: Setting | None = None) -> dict[str, dict[str, int]]:
    """For each int8 model, the number of evaluation inputs (of n_eval) whose int8 top-1 equals the top-1 of
    the float network ("float": weights as reals, float arithmetic) and of the float file as TFLite runs it
    ("tflite": the same except for a hybrid model such as KWS's, whose int8 conv weights make TFLite
    quantize each conv input on the fly). With `mismatched`, one more row: that setting calibrated on
    uniform noise over the input range instead of on the evaluation distribution."""
    make = (lambda n, seed: synthetic_kws(n, seed, models)) if key == "kws" else synthetic_ic
    calib, evaluation = make(n_calib, 1), make(n_eval, 2)
    fgraph = load_model(models / FLOAT[key])
    references = {"float": top1(float_outputs(as_float(fgraph), evaluation)),
                  "tflite": top1(float_outputs(fgraph, evaluation))}

    def agree(qgraph: Graph) -> dict[str, int]:
        ours = top1(int8_outputs(qgraph, evaluation))
        return {name: int(np.sum(ours == ref)) for name, ref in references.items()}

    out = {"official int8": agree(load_model(models / INT8[key]))}
    for s in settings:
        out[f"tinyc {s.label}"] = agree(ptq(fgraph, calib, s.method, s.bias_correction,
                                            per_channel_fc=s.per_channel_fc))
    if mismatched is not None:
        lo, hi = INPUT_RANGE[key]
        noise = np.random.default_rng(5).uniform(lo, hi, calib.shape).astype(np.float32)
        q = ptq(fgraph, noise, mismatched.method, mismatched.bias_correction,
                per_channel_fc=mismatched.per_channel_fc)
        out[f"tinyc {mismatched.label}, calibrated on uniform noise"] = agree(q)
    return out
