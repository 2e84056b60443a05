"""tinyc-qemu: a local PlatformIO development platform that builds for the boards tinyc emulates, with
Debian's cross compilers (arm-none-eabi-gcc, riscv64-unknown-elf-gcc) and each board's real flash and RAM
sizes, and whose `upload` target runs the firmware in QEMU. Written by tinyc (tinyc.platformio)."""

from platformio.public import PlatformBase


class TinycqemuPlatform(PlatformBase):
    def is_embedded(self):
        return True
