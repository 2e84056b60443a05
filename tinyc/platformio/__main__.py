"""``python -m tinyc.platformio ARGS``: ``pio ARGS`` with tinyc's PlatformIO core folder, e.g.
``python -m tinyc.platformio run -d firmware -e nucleo-l4r5zi-qemu -t upload``."""

import sys

from tinyc.errors import TinycError
from tinyc.platformio.core import run_pio

try:
    sys.exit(run_pio(sys.argv[1:], capture=False, timeout=None).returncode)
except TinycError as exc:
    sys.exit(f"tinyc: error: {exc}")
