"""test/test_model/tinyc_expected.h of a firmware project: the output records tinyc's reference runtime
gives for the inputs bundled in src/tinyc_inputs.h, which the project's `pio test` compares byte for byte."""

from __future__ import annotations

import re

import numpy as np

from tinyc.lower.plan import Plan
from tinyc.targets.library import pack_records, split_records


def bundled_records(header: str, input_size: int) -> np.ndarray:
    """The input records [N, input_size] (uint8) of a tinyc_inputs.h."""
    count = int(re.search(r"#define TINYC_NUM_INPUTS (\d+)", header).group(1))
    if re.search(r"#define TINYC_INPUT_STRIDE \d+$", header, re.M) is None:
        # firmware/'s default header: zero bytes (`{{0}}`) for any model, the stride a macro expression
        return np.zeros((count, input_size), dtype=np.uint8)
    body = header[header.index("tinyc_inputs[") :]
    raw = np.array([int(h, 16) for h in re.findall(r"0x([0-9a-fA-F]{2})\b", body)], dtype=np.uint8)
    return raw.reshape(count, -1)[:, :input_size]  # each row lists its record's bytes, not the padding


def expected_header(plan: Plan, records: np.ndarray) -> str:
    """The reference's output records for input ``records`` [N, input record size] as a C header."""
    from tinyc.runtime import run_plan

    graph = plan.graph
    kinds = [(graph.tensor(n).dtype, graph.tensor(n).shape) for n in graph.inputs]
    values = run_plan(plan, split_records(np.ascontiguousarray(records).view(np.int8), kinds))
    outputs = pack_records([values[n] for n in graph.outputs]).view(np.uint8)
    rows = []
    for record in outputs:
        hexes = [f"0x{b:02x}" for b in record]
        rows.append("    {\n" + ",\n".join("        " + ", ".join(hexes[i : i + 16])
                                           for i in range(0, len(hexes), 16)) + "\n    }")
    return (
        "/* The reference runtime's output records for the inputs of src/tinyc_inputs.h, written by\n"
        " * `tinyc firmware` for test_main.c (`pio test`). */\n"
        "#ifndef TINYC_EXPECTED_H\n#define TINYC_EXPECTED_H\n\n#include <stdint.h>\n\n"
        '#include "model_glue.h"\n\n'
        f"#define TINYC_NUM_EXPECTED {len(outputs)}\n"
        f"#if MODEL_OUTPUT_SIZE != {outputs.shape[1]}\n#error \"tinyc_expected.h was written for another model\"\n"
        "#endif\n\n"
        f"static const uint8_t tinyc_expected[TINYC_NUM_EXPECTED][{outputs.shape[1]}] = {{\n"
        + ",\n".join(rows) + "\n};\n\n#endif /* TINYC_EXPECTED_H */\n"
    )
