"""`tinyc compile --format arduino`: the KWS library in Arduino's layout compiles as the Arduino IDE builds it
(src/*.c with gcc, the example sketch as C++ after Arduino's `#include <Arduino.h>` preamble) for a
Cortex-M4F with arm-none-eabi-gcc/g++, and the same sketch built on the host prints the reference runtime's
output bytes for its input pattern."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinyc.cli import main
from tinyc.codegen.arduino import NO_CONTRACTION
from tinyc.pipeline import build_plan
from tinyc.runtime import run_plan

KWS = "mlperf_tiny/kws/kws_ref_model.tflite"
M4F = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
# What arduino-cli passes (STM32duino / Arduino core style): gnu11 / gnu++11, -Os, sections, no exceptions.
C_FLAGS = ["-std=gnu11", "-Os", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-Werror"]
CXX_FLAGS = ["-std=gnu++11", "-Os", "-ffunction-sections", "-fdata-sections", "-fno-exceptions", "-fno-rtti",
             "-fno-threadsafe-statics", "-Wall", "-Wextra", "-Werror"]

# A tiny stand-in for the Arduino core: Serial (print / println of the types the sketch uses), micros() and
# the main() that calls setup() and loop() once. On the host Serial writes to stdout; on the M4F into RAM.
ARDUINO_H = """\
#pragma once
#include <stdint.h>
class SerialShim {
 public:
  void begin(unsigned long) {}
  void print(const char *s);
  void print(long v);
  void print(unsigned long v);
  void print(int v) { print((long)v); }
  void println() { print("\\n"); }
  template <typename T> void println(T v) { print(v); println(); }
};
extern SerialShim Serial;
unsigned long micros(void);
void setup(void);
void loop(void);
"""
CORE_CPP = """\
#include <Arduino.h>
#include <stdio.h>
SerialShim Serial;
#if defined(__arm__)
static char sink[4096];
static unsigned long used;
void SerialShim::print(const char *s) { while (*s && used < sizeof sink) sink[used++] = *s++; }
extern "C" void _exit(int code) { (void)code; for (;;) {} }
#else
void SerialShim::print(const char *s) { fputs(s, stdout); }
#endif
void SerialShim::print(long v) { char b[24]; snprintf(b, sizeof b, "%ld", v); print(b); }
void SerialShim::print(unsigned long v) { char b[24]; snprintf(b, sizeof b, "%lu", v); print(b); }
unsigned long micros(void) { return 0; }
int main(void) { setup(); loop(); return 0; }
"""


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


@pytest.fixture(scope="module")
def library(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("arduino") / "kws"
    result = CliRunner().invoke(main, ["compile", str(models_dir / KWS), "--format", "arduino", "-o", str(out),
                                       "--name", "kws"])
    assert result.exit_code == 0, result.output
    return out


def sketch_build(lib: Path, build: Path, cc: str, cxx: str, arch: list[str], link: list[str]) -> Path:
    """Build as arduino-cli does: every src/*.c compiled as C, the .ino as <name>.ino.cpp with the Arduino.h
    preamble, then one link with the core."""
    build.mkdir(parents=True, exist_ok=True)
    (build / "Arduino.h").write_text(ARDUINO_H)
    (build / "core.cpp").write_text(CORE_CPP)
    ino = lib / "examples" / "kws" / "kws.ino"
    (build / "kws.ino.cpp").write_text(f'#include <Arduino.h>\n#line 1 "{ino}"\n' + ino.read_text())
    inc = ["-I", str(build), "-I", str(lib / "src")]
    objects = []
    for src in sorted((lib / "src").glob("*.c")):
        obj = build / (src.name + ".o")
        subprocess.run([cc, *arch, *C_FLAGS, *inc, "-c", str(src), "-o", str(obj)], check=True)
        objects.append(obj)
    for src in (build / "kws.ino.cpp", build / "core.cpp"):
        obj = build / (src.name + ".o")
        subprocess.run([cxx, *arch, *CXX_FLAGS, *inc, "-c", str(src), "-o", str(obj)], check=True)
        objects.append(obj)
    elf = build / "kws.elf"
    subprocess.run([cxx, *arch, *map(str, objects), "-o", str(elf), *link], check=True)
    return elf


def test_layout(library: Path) -> None:
    files = sorted(str(p.relative_to(library)) for p in library.rglob("*") if p.is_file())
    assert files == ["examples/kws/kws.ino", "library.properties", "report.json", "src/kws.c", "src/kws.h",
                     "src/tinyc_fixedpoint.h"]
    props = dict(line.split("=", 1) for line in (library / "library.properties").read_text().splitlines())
    assert props["name"] == "kws" and props["includes"] == "kws.h" and props["architectures"] == "*"
    assert '#pragma GCC optimize ("fp-contract=off")' in (library / "src" / "kws.c").read_text()


def test_builds_for_cortex_m4f(library: Path, tmp_path: Path) -> None:
    need("arm-none-eabi-gcc", "arm-none-eabi-g++")
    elf = sketch_build(library, tmp_path, "arm-none-eabi-gcc", "arm-none-eabi-g++", M4F,
                       ["--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections"])
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r" T kws_run$", symbols, re.M)
    assert re.search(r" T _Z5setupv$", symbols, re.M)  # setup(), C++-mangled


def test_host_sketch_prints_reference_bytes(models_dir: Path, library: Path, tmp_path: Path) -> None:
    need("gcc", "g++")
    elf = sketch_build(library, tmp_path, "gcc", "g++", [], ["-lm"])
    printed = subprocess.run([str(elf)], capture_output=True, text=True, check=True, timeout=60).stdout
    plan = build_plan(models_dir / KWS)
    t = plan.graph.tensor(plan.graph.inputs[0])
    pattern = ((np.arange(t.size, dtype=np.int64) * 37) % 256 - 128).astype(np.int8).reshape(1, *t.shape)
    expected = run_plan(plan, [pattern])[plan.graph.outputs[0]][0]
    assert printed.startswith("kws_run: 0, ")
    assert re.search(r"^output bytes ([0-9a-f]+)$", printed, re.M).group(1) == expected.tobytes().hex()
    assert f"output argmax {int(np.argmax(expected))}\n" in printed


def test_float_model_carries_no_contraction(models_dir: Path, tmp_path: Path) -> None:
    """Arduino compiles with GCC's default -ffp-contract=fast: the pragma in the float model's C is what
    keeps a*b+c as two roundings (no fused VFMA/VFMS/VFNMA/VFNMS); the same C without it gets fused ones."""
    need("arm-none-eabi-gcc", "arm-none-eabi-objdump")
    out = tmp_path / "hw"
    result = CliRunner().invoke(main, ["compile", str(models_dir / "zoo/tflm_hello_world_float.tflite"),
                                       "--format", "arduino", "-o", str(out), "--name", "hw"])
    assert result.exit_code == 0, result.output
    source = (out / "src" / "hw.c").read_text()
    bare = tmp_path / "bare.c"
    bare.write_text(source.replace(NO_CONTRACTION, "", 1))
    fused = {}
    for label, path in (("pragma", out / "src" / "hw.c"), ("bare", bare)):
        obj = tmp_path / f"{label}.o"
        subprocess.run(["arm-none-eabi-gcc", *M4F, *C_FLAGS, "-I", str(out / "src"), "-c", str(path), "-o",
                        str(obj)], check=True)
        listing = subprocess.run(["arm-none-eabi-objdump", "-d", str(obj)], capture_output=True, text=True,
                                 check=True).stdout
        fused[label] = len(re.findall(r"\tvfn?m[as]\.f32", listing))
    assert fused["pragma"] == 0 and fused["bare"] > 0, fused
