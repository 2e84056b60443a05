"""The generated library rearranged as an Arduino library (1.5 layout): `library.properties`, the model C and
its headers in `src/`, and `examples/<name>/<name>.ino`, a sketch that runs the model once on a fixed input
pattern and prints the outputs over Serial.

Arduino compiles `src/*.c` with its own flags (gnu11, no -ffp-contract=off), so the C file carries the
no-contraction rule itself: GCC's `optimize` pragma, or clang's STDC FP_CONTRACT.
"""

from __future__ import annotations

import tinyc
from tinyc.codegen.render import environment

NO_CONTRACTION = """\
/* tinyc: results are bit-exact only without fused multiply-add contraction (the reference rounds each
 * product); Arduino does not pass -ffp-contract=off, so this file says it. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize ("fp-contract=off")
#endif
"""

# Files of the plain library that have no place in an Arduino library (build files of other systems).
NOT_ARDUINO = ("CMakeLists.txt", "library.json")


def arduino_files(files: dict[str, str], facts: dict) -> dict[str, str]:
    """The library's `files` (name -> text, without report.json) in the Arduino layout."""
    name = facts["name"]
    out: dict[str, str] = {}
    for fname, text in files.items():
        if fname in NOT_ARDUINO:
            continue
        out[f"src/{fname}"] = NO_CONTRACTION + text if fname.endswith(".c") else text
    out["library.properties"] = library_properties(facts)
    out[f"examples/{name}/{name}.ino"] = environment().get_template("arduino_example.ino.j2").render(facts)
    return out


def library_properties(facts: dict) -> str:
    """Arduino's library manifest. Its values are tinyc's own words and the C name (an identifier), never
    model text, which may hold newlines."""
    name = facts["name"]
    fields = {
        "name": name,
        "version": tinyc.__version__,
        "author": "tinyc",
        "maintainer": "tinyc",
        "sentence": f"Neural network '{name}' compiled to heap-free C99 by tinyc.",
        "paragraph": (f"{facts['macs']:,} MACs, {facts['weight_bytes']:,} bytes of weights, "
                      f"{facts['arena_size']:,} bytes of arena; bit-exact with the tinyc reference runtime."),
        "category": "Data Processing",
        "url": "https://pypi.org/project/tinyc/",
        "architectures": "*",
        "includes": f"{name}.h",
    }
    return "".join(f"{key}={value}\n" for key, value in fields.items())
