"""SCons builder of the tinyc-qemu platform: see ../platform.py.

The board file (boards/<id>.json) gives the toolchain prefix, the compiler flags, the libc specs, the
linker script (ldscripts/<id>.ld: the board's real flash and RAM at the QEMU machine's addresses) and
the QEMU command. The project's harness/ (startup code, .data/.bss setup, semihosting) is linked in;
its src/ provides main(). `pio run -t upload` runs the ELF in QEMU (../qemu_run.py), printing what the
firmware writes over semihosting with each inference's instruction count; it fails if the firmware exits
non-zero or does not finish within `custom_qemu_timeout` seconds (default 60). Under `pio test` the
harness's Unity subset (harness/unity.c) is linked too.
"""

import os
import shutil
import sys

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
platform = env.PioPlatform()
sys.path.insert(0, platform.get_dir())
import qemu_run  # noqa: E402 (the platform's own module, beside platform.py)

board = env.BoardConfig()
PLATFORM_DIR = platform.get_dir()
HARNESS_DIR = os.path.join(env.subst("$PROJECT_DIR"), "harness")
prefix = board.get("build.toolchain")
cflags = list(board.get("build.cflags"))
specs = list(board.get("build.libc_specs"))  # also when compiling: picolibc's headers for RISC-V

env.Replace(
    AR=prefix + "-gcc-ar",
    AS=prefix + "-gcc",
    CC=prefix + "-gcc",
    CXX=prefix + "-g++",
    LINK=prefix + "-gcc",
    OBJCOPY=prefix + "-objcopy",
    RANLIB=prefix + "-gcc-ranlib",
    SIZETOOL=prefix + "-size",
    ARFLAGS=["rc"],
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.vectors|\.tinyc_harness|\.text|\.tinyc_weights|\.rodata|\.ARM\.exidx|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.tinyc_harness_bss|\.bss)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)
env.Append(
    ASFLAGS=cflags,
    ASPPFLAGS=["-x", "assembler-with-cpp"],
    CCFLAGS=cflags
    + specs
    + ["-O2", "-ffunction-sections", "-fdata-sections", "-ffp-contract=off", "-Wall", "-Wextra"],
    CFLAGS=["-std=c99"],
    CPPDEFINES=["TINYC_QEMU"],
    CPPPATH=[HARNESS_DIR],
    LINKFLAGS=cflags
    + specs
    + ["-nostartfiles", "-Wl,--gc-sections", "-Wl,-Map=" + os.path.join("$BUILD_DIR", "firmware.map")],
    LIBS=["m"],
)
env.Replace(LDSCRIPT_PATH=os.path.join(PLATFORM_DIR, board.get("build.ldscript")))
for tool in (env.subst("$CC"), board.get("build.qemu.system")):
    if shutil.which(tool) is None:
        sys.stderr.write(f"Error: {tool} not found: {board.get('build.install_hint')}\n")
        env.Exit(1)

# object names tinyc_harness_* keep the harness apart in the linker script (see ldscripts/)
harness = ["-<*>", "+<harness_start.c>", f"+<startup_{board.get('build.arch')}.S>"]
if "test" in env.GetBuildType():
    harness.append("+<unity.c>")
env.BuildSources(os.path.join("$BUILD_DIR", "tinyc_harness_objs"), HARNESS_DIR, harness)
program = env.BuildProgram()


def run_in_qemu(target, source, env):
    code, text = qemu_run.run(board.get("build.qemu"), str(source[0]), prefix, HARNESS_DIR,
                              float(env.GetProjectOption("custom_qemu_timeout", "60")))
    sys.stdout.write(text)
    sys.stdout.flush()
    if code is None:
        sys.stderr.write("Error: the firmware did not finish in time in QEMU (custom_qemu_timeout)\n")
        return 1
    if code != 0:
        sys.stderr.write(f"Error: the firmware exited with {code} in QEMU\n")
    return code


AlwaysBuild(env.Alias("upload", program, env.VerboseAction(run_in_qemu, "Running $SOURCE in QEMU")))
AlwaysBuild(env.Alias("size", program, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE")))
Default([program])
