#!/usr/bin/env bash
# Command 1 of the README: install everything, then compile the bundled example model and run it
# on the reference runtime, on the host and on an emulated Cortex-M4F board.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python examples/demo.py
