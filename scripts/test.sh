#!/usr/bin/env bash
# Command 2 of the README: install what is missing, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check tinyc tests benchmarks examples
exec .venv/bin/python -m pytest -n 2 -q "$@"
