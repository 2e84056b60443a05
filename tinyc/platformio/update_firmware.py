"""``python -m tinyc.platformio.update_firmware``: rewrite what the repository's firmware/ derives from
boards/ (platformio.ini, the tinyc-qemu platform's board files and linker scripts) after a board changes.
firmware/'s sources (src/, harness/, the platform's scripts, tinyc_glue.py) are edited in place."""

from tinyc.platformio.project import update_repo_firmware

if __name__ == "__main__":
    print(update_repo_firmware())
