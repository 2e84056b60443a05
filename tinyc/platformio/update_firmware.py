"""``python -m tinyc.platformio.update_firmware``: rewrite the repository's firmware/ (platformio.ini, src/,
the tinyc-qemu platform) from boards/ and tinyc's files; lib/ is left alone."""

from tinyc.platformio.project import update_repo_firmware

if __name__ == "__main__":
    print(update_repo_firmware())
