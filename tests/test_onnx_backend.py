"""ONNX's own backend node tests (onnx.backend.test.BackendTest) through tinyc's ONNX backend.

Each selected case runs on the reference runtime (classes `OnnxBackendNodeModelTest...`) and on the generated
host C (`Host...`), compared with the suite's own expected outputs and tolerances. A case tinyc does not compile
is skipped with tinyc's error as the reason ("unsupported"); a wrong answer fails. The selection is the op set of
real exports (issue 13) plus the ops tinyc already had; `benchmarks/onnx_backend_table.py` tabulates a run.
"""

from __future__ import annotations

import re
import unittest
from typing import Any

import onnx.backend.test

from tinyc.errors import TinycError
from tinyc.frontends.onnx_backend import TinycBackend, TinycRep

# Test-name stems (the case names without "test_" and the device suffix); each selects the cases named
# `test_<stem>` or `test_<stem>_<variant>`. Extend OPS_RECURRENT for LSTM / GRU (onnx_recurrent.py).
OPS = [
    # padding and data movement
    "pad", "constant_pad", "constant_pad_axes", "constant_pad_negative_axes", "edge_pad", "reflect_pad", "wrap_pad",
    "concat", "split", "slice", "gather", "expand", "tile", "shape", "size", "constantofshape", "range",
    "reshape", "transpose", "flatten", "squeeze", "unsqueeze", "identity", "depthtospace", "spacetodepth",
    # reductions
    "reduce_mean", "reduce_sum", "reduce_max", "reduce_min", "reduce_l2", "argmax", "argmin", "top_k",
    # element-wise
    "sigmoid", "tanh", "hardsigmoid", "hardswish", "leakyrelu", "prelu", "elu", "selu", "gelu", "erf", "exp",
    "log", "sqrt", "pow", "reciprocal", "neg", "abs", "min", "max", "mean", "sum", "where", "equal", "greater",
    "less", "relu", "clip", "add", "sub", "mul", "div",
    # normalisation and softmax
    "softmax", "logsoftmax", "layer_normalization", "instancenorm", "lpnormalization", "batchnorm",
    # windows and products
    "conv", "convtranspose", "maxpool", "averagepool", "globalaveragepool", "globalmaxpool", "lppool",
    "gemm", "matmul", "einsum", "resize", "upsample",
]
OPS_RECURRENT: list[str] = ["lstm", "gru"]
# Cases outside the float inference op set: training-mode variants and the function-expanded graphs (which test
# the ops they expand into, not the op), the integer, string, 16- and 64-bit float variants (tinyc computes float32).
EXCLUDE = (r"(_expanded|_training|_bfloat16|_float16|_float64|_double|_string|_int8|_uint8|_int16|_uint16|_int32"
           r"|_uint32|_int64|_uint64|_bool)"
           # other ops whose names start with a selected one's, and optional / sequence (non-tensor) values
           r"|^test_(gather_elements|gather_nd|split_to_sequence|identity_opt|identity_sequence)")


class _Skipping(TinycBackend):
    """TinycBackend whose tinyc errors skip the case (unittest.SkipTest) with the error as the reason."""

    target = "ref"

    @classmethod
    def prepare(cls, model: Any, device: str = "CPU", **kwargs: Any) -> TinycRep:
        rep = super().prepare(model, device, target=cls.target, **kwargs)
        run = rep.run

        def skipping_run(inputs: Any, **kw: Any) -> Any:
            try:
                return run(inputs, **kw)
            except TinycError as exc:
                raise unittest.SkipTest(f"unsupported: {exc}") from None

        rep.run = skipping_run  # type: ignore[method-assign]
        return rep


class _Host(_Skipping):
    target = "host"


def _suite(backend: type[TinycBackend]) -> dict[str, type]:
    suite = onnx.backend.test.BackendTest(backend, __name__)
    stems = "|".join(re.escape(s) for s in OPS + OPS_RECURRENT)
    suite.include(rf"^test_({stems})(_[a-z0-9_]+)?_cpu$")
    suite.exclude(EXCLUDE)
    return {name: cls for name, cls in suite.test_cases.items() if name == "OnnxBackendNodeModelTest"}


globals().update(_suite(_Skipping))
globals().update({f"Host{name}": cls for name, cls in _suite(_Host).items()})
