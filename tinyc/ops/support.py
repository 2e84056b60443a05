"""What tinyc runs, from the op registry: each TFLite operator, the tinyc op that implements it and its dtypes,
beside the operators TensorFlow Lite Micro registers (`tinyc ops`, and the table in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyc.ops import REGISTRY, OpDef

# The builtin and custom operators TFLM registers (tflite-micro's all-ops resolver; tests/test_op_support.py
# checks this list against the installed tflite-micro), less the control flow tinyc does not take (IF, WHILE;
# CALL_ONCE is taken in the one form the converter writes to initialise variables) and the vendor-specific
# ETHOSU.
TFLM_OPS = frozenset("""
ABS ADD ADD_N ARG_MAX ARG_MIN ASSIGN_VARIABLE AVERAGE_POOL_2D BATCH_MATMUL BATCH_TO_SPACE_ND BROADCAST_ARGS
BROADCAST_TO CALL_ONCE CAST CEIL CONCATENATION CONV_2D COS CUMSUM DEPTH_TO_SPACE DEPTHWISE_CONV_2D DEQUANTIZE DIV
DYNAMIC_UPDATE_SLICE ELU EMBEDDING_LOOKUP EQUAL EXP EXPAND_DIMS FILL FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED
GATHER GATHER_ND GREATER GREATER_EQUAL HARD_SWISH L2_NORMALIZATION L2_POOL_2D LEAKY_RELU LESS LESS_EQUAL LOG
LOG_SOFTMAX LOGICAL_AND LOGICAL_NOT LOGICAL_OR LOGISTIC MAX_POOL_2D MAXIMUM MEAN MINIMUM MIRROR_PAD MUL NEG
NOT_EQUAL PACK PAD PADV2 PRELU QUANTIZE READ_VARIABLE REDUCE_ALL REDUCE_MAX REDUCE_MIN RELU RELU6 RESHAPE
RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR REVERSE_V2 ROUND RSQRT SELECT_V2 SHAPE SIN SLICE SOFTMAX
SPACE_TO_BATCH_ND SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE SQUEEZE STRIDED_SLICE SUB SUM SVDF
TANH TRANSPOSE TRANSPOSE_CONV UNIDIRECTIONAL_SEQUENCE_LSTM UNPACK VAR_HANDLE ZEROS_LIKE
CIRCULAR_BUFFER TFLite_Detection_PostProcess
SignalDelay SignalEnergy SignalFftAutoScale SignalFilterBank SignalFilterBankLog SignalFilterBankSpectralSubtraction
SignalFilterBankSquareRoot SignalFramer SignalIrfft SignalOverlapAdd SignalPCAN SignalRfft SignalStacker
SignalWindow
""".split())


@dataclass(frozen=True)
class Row:
    tflite: str  # the TFLite operator (builtin name or custom code)
    ops: tuple[str, ...]  # the tinyc ops that implement it (empty: unsupported)
    dtypes: str  # their activation dtypes, "in -> out"
    in_tflm: bool


def implementers() -> dict[str, list[OpDef]]:
    """TFLite operator name -> the registered tinyc ops that declare it."""
    out: dict[str, list[OpDef]] = {}
    for op in REGISTRY.values():
        for name in op.tflite:
            out.setdefault(name, []).append(op)
    return out


def dtype_text(ops: list[OpDef]) -> str:
    pairs: set[tuple[str, str]] = set()
    any_same = False
    for op in ops:
        if op.dtypes is None:
            any_same = True
        else:
            pairs |= set(op.dtypes)
    by_in: dict[str, set[str]] = {}
    for a, b in pairs:
        by_in.setdefault(a, set()).add(b)
    parts = [a if by_in[a] == {a} else f"{a} -> {'/'.join(sorted(by_in[a]))}" for a in sorted(by_in)]
    if any_same:
        parts.insert(0, "any (same in and out)")
    return ", ".join(parts)


def support_rows() -> list[Row]:
    impl = implementers()
    names = sorted(TFLM_OPS | set(impl), key=lambda n: (not n.isupper() or n == "CIRCULAR_BUFFER", n))
    return [Row(n, tuple(sorted(op.name for op in impl.get(n, []))), dtype_text(impl.get(n, [])), n in TFLM_OPS)
            for n in names]


def markdown_table() -> str:
    rows = support_rows()
    done = sum(1 for r in rows if r.ops and r.in_tflm)
    lines = [f"{done} of the {len(TFLM_OPS)} operators TFLM registers (IF and WHILE aside) compile with tinyc.", "",
             "| TFLite operator | TFLM | tinyc op | tinyc dtypes (activations, in -> out) |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| `{r.tflite}` | {'yes' if r.in_tflm else 'no'} | {', '.join(r.ops) or '-'} | "
                     f"{r.dtypes or 'unsupported'} |")
    return "\n".join(lines) + "\n"
