"""SCons builder of the tinyc-qemu platform: see ../platform.py.

The board file (boards/<id>.json) gives the toolchain prefix, the compiler flags, the libc specs, the
linker script (ldscripts/<id>.ld: the board's real flash and RAM at the QEMU machine's addresses) and
the QEMU command. The project's harness/ (startup code, .data/.bss setup, semihosting) is linked in;
its src/ provides main(). `pio run -t upload` runs the ELF in QEMU, printing what the firmware writes
over semihosting; it fails if the firmware exits non-zero or does not finish within
`custom_qemu_timeout` seconds (default 60).
"""

import os
import shutil
import subprocess
import sys

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
platform = env.PioPlatform()
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
env.BuildSources(os.path.join("$BUILD_DIR", "tinyc_harness_objs"), HARNESS_DIR, harness)
program = env.BuildProgram()


def run_in_qemu(target, source, env):
    elf = os.path.abspath(str(source[0]))
    log = os.path.splitext(elf)[0] + ".semihost.txt"
    if os.path.exists(log):
        os.remove(log)
    qemu = board.get("build.qemu")
    cmd = [qemu["system"], "-M", qemu["machine"]] + list(qemu.get("extra", [])) + [
        "-display", "none", "-serial", "null", "-monitor", "none",
        "-chardev", "file,id=semihost,path=" + log.replace(",", ",,"),
        "-semihosting-config", "enable=on,target=native,chardev=semihost",
        "-kernel", elf,
    ]  # fmt: skip
    timeout = float(env.GetProjectOption("custom_qemu_timeout", "60"))
    print(" ".join(cmd))
    try:
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=timeout)
        code = result.returncode
    except subprocess.TimeoutExpired:
        code = None
    if os.path.exists(log):
        with open(log, encoding="utf-8", errors="replace") as fp:
            sys.stdout.write(fp.read())
        sys.stdout.flush()
    if code is None:
        sys.stderr.write(f"Error: the firmware did not finish within {timeout:g} s in QEMU\n")
        return 1
    if code != 0:
        sys.stderr.write(f"Error: the firmware exited with {code} in QEMU\n")
    return code


AlwaysBuild(env.Alias("upload", program, env.VerboseAction(run_in_qemu, "Running $SOURCE in QEMU")))
AlwaysBuild(env.Alias("size", program, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE")))
Default([program])
