"""Run a firmware ELF of the tinyc-qemu platform in QEMU, shared by the builder's `upload` target and the
`pio test` runner (test/test_custom_runner.py).

The run counts the instructions of each inference with the harness's TCG plugin (harness/icount_plugin.c,
built with the host compiler): the window from each entry of tinyc_marker_begin to the next entry of
tinyc_marker_end, the two functions the app calls around MODEL_RUN. QEMU has no cycle counter, so the
firmware prints `TIME <i> n/a`; the run fills in the count: `TIME <i> <n> instructions`, where a real board
prints `TIME <i> <n> cycles`. Without the markers (an ELF that has none) nothing is counted.
"""

import os
import re
import shutil
import subprocess

MARKERS = ("tinyc_marker_begin", "tinyc_marker_end")


def icount_plugin(harness_dir, build_dir):
    """harness/icount_plugin.c built into build_dir (again only when the source is newer)."""
    source = os.path.join(harness_dir, "icount_plugin.c")
    plugin = os.path.join(build_dir, "libicount.so")
    if os.path.exists(plugin) and os.path.getmtime(plugin) >= os.path.getmtime(source):
        return plugin
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no host C compiler (cc) to build the QEMU instruction-count plugin")
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", plugin, source], check=True)
    return plugin


def marker_addresses(nm, elf):
    """{name: address} of the two markers (code addresses without the Thumb bit); {} if absent."""
    found = {}
    listing = subprocess.run([nm, elf], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2] in MARKERS and fields[1] in "Tt":
            found[fields[2]] = int(fields[0], 16) & ~1
    return found if len(found) == len(MARKERS) else {}


def _opt(value):
    return str(value).replace(",", ",,")


def run(qemu, elf, toolchain, harness_dir, timeout):
    """Run elf on the board's QEMU (the board file's build.qemu); return (exit code or None on timeout,
    what the firmware printed with its TIME lines filled in)."""
    elf = os.path.abspath(elf)
    base = os.path.splitext(elf)[0]
    log, counts_file = base + ".semihost.txt", base + ".icount.txt"
    for path in (log, counts_file):
        if os.path.exists(path):
            os.remove(path)
    cmd = [qemu["system"], "-M", qemu["machine"]] + list(qemu.get("extra", [])) + [
        "-display", "none", "-serial", "null", "-monitor", "none",
        "-chardev", "file,id=semihost,path=" + _opt(log),
        "-semihosting-config", "enable=on,target=native,chardev=semihost",
        "-kernel", elf,
    ]  # fmt: skip
    markers = marker_addresses(toolchain + "-nm", elf)
    if markers:
        plugin = icount_plugin(harness_dir, os.path.dirname(elf))
        cmd += ["-plugin", f"{_opt(plugin)},begin={markers[MARKERS[0]]:#x},end={markers[MARKERS[1]]:#x},"
                           f"out={_opt(counts_file)},mode=tb"]
    try:
        code = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        code = None
    text = ""
    if os.path.exists(log):
        with open(log, encoding="utf-8", errors="replace") as fp:
            text = fp.read()
    if os.path.exists(counts_file):
        with open(counts_file, encoding="utf-8") as fp:
            counts = fp.read().split()
        text = fill_times(text, counts)
    return code, text


def fill_times(text, counts):
    """`TIME <i> n/a` -> `TIME <i> <counts[i]> instructions` (the i-th counted window is inference i)."""

    def one(match):
        index = int(match.group(1))
        if index >= len(counts):
            return match.group(0)
        return f"TIME {index} {counts[index]} instructions"

    return re.sub(r"^TIME (\d+) n/a$", one, text, flags=re.M)
