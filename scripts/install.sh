#!/usr/bin/env bash
# Installs what tinyc needs on a Debian machine: the Debian toolchains and emulators (when missing),
# a virtualenv in .venv, and the package with its test dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(gcc clang make
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm qemu-system-misc
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
  chromium)  # the headless browser of tests/test_report.py
# Debian's own Python needs its venv and headers packages; another Python (pyenv, ...) brings them
if python3 -c 'import sys; sys.exit(0 if sys.prefix == "/usr" else 1)'; then
  DEBIAN_PACKAGES+=(python3-venv python3-dev)
fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
  if ! command -v apt-get >/dev/null; then
    echo "tinyc setup: missing ${missing[*]} and no apt-get to install them; install them by hand." >&2; exit 1
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "tinyc setup: missing Debian packages: ${missing[*]}. Run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "tinyc setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "tinyc setup: apt-get could not install ${missing[*]}" >&2; exit 1; }
fi

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "tinyc setup: Python >= 3.11 is required, found $(python3 --version)" >&2; exit 1; }
[[ -x .venv/bin/python ]] || python3 -m venv .venv
stamp=.venv/.tinyc-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp || setup.py -nt $stamp || -n $(find cython_kernels -newer $stamp -name '*.p*' 2>/dev/null) ]]; then
  echo "tinyc setup: installing Python packages into .venv (log: .venv/install.log)"
  { .venv/bin/python -m pip install --upgrade pip "setuptools>=77" wheel "Cython>=3.0,<3.4" "numpy>=2.1,<2.5" &&
    .venv/bin/python -m pip install --no-build-isolation -e ".[dev,torch]"; } > .venv/install.log 2>&1 \
    || { tail -20 .venv/install.log >&2; echo "tinyc setup: pip install failed (see .venv/install.log)" >&2; exit 1; }
  touch "$stamp"
fi
