"""Flash and RAM of a firmware ELF linked with the harness's linker script (``firmware/harness/link.ld.in``).

The script gives every kind of content its own output section, so sizes are read from section headers:

- ``.tinyc_weights``: the model's weights, i.e. the input sections in :data:`WEIGHT_SECTIONS`
  (with ``-fdata-sections`` a global ``tinyc_w_foo`` lands in ``.rodata.tinyc_w_foo``);
- ``.vectors``, ``.tinyc_harness``, ``.tinyc_harness_bss``: the harness (startup, main, output buffer);
- ``.tinyc_inputs`` (test inputs) and ``.stack`` (the minimum stack reservation): counted nowhere;
- everything else allocated: the model with the libc/libgcc routines it pulls in (the harness uses none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tinyc.errors import ToolchainError

#: input sections holding weights (linker-script patterns)
WEIGHT_SECTIONS = (".rodata.tinyc_weights", ".rodata.tinyc_weights.*", ".rodata.tinyc_w_*")
HARNESS_SECTIONS = frozenset({".vectors", ".tinyc_harness", ".tinyc_harness_bss"})
UNCOUNTED_SECTIONS = frozenset({".tinyc_inputs", ".stack"})


@dataclass(frozen=True)
class ImageSize:
    flash_code: int  # model code and non-weight constants, plus the initial values of its .data
    flash_weights: int
    ram_static: int  # model .data + .bss (arena included); the stack is measured separately
    harness_flash: int
    harness_ram: int


def image_size(elf: Path) -> ImageSize:
    """The model's and the harness's flash and RAM in ``elf``, from its section headers."""
    code = weights = ram = harness_flash = harness_ram = 0
    with open(elf, "rb") as f:
        for section in ELFFile(f).iter_sections():
            flags, size, name = section["sh_flags"], section["sh_size"], section.name
            if not flags & SH_FLAGS.SHF_ALLOC or size == 0 or name in UNCOUNTED_SECTIONS:
                continue
            in_ram = bool(flags & SH_FLAGS.SHF_WRITE)
            in_flash = not in_ram or section["sh_type"] == "SHT_PROGBITS"  # .data's initial values
            if name in HARNESS_SECTIONS:
                harness_ram += size if in_ram else 0
                harness_flash += size if in_flash else 0
            elif name == ".tinyc_weights":
                weights += size
            else:
                ram += size if in_ram else 0
                code += size if in_flash else 0
    return ImageSize(code, weights, ram, harness_flash, harness_ram)


def symbol_addresses(elf: Path, names: list[str]) -> dict[str, int]:
    """Addresses of the named symbols (code addresses without the Thumb bit)."""
    with open(elf, "rb") as f:
        elffile = ELFFile(f)
        arm = elffile["e_machine"] == "EM_ARM"
        found: dict[str, int] = {}
        for section in elffile.iter_sections():
            if not isinstance(section, SymbolTableSection):
                continue
            for name in names:
                for symbol in section.get_symbol_by_name(name) or []:
                    value = symbol["st_value"]
                    is_code = symbol["st_info"]["type"] == "STT_FUNC"
                    found[name] = value & ~1 if arm and is_code else value
    missing = [n for n in names if n not in found]
    if missing:
        raise ToolchainError(f"{elf}: no symbol {', '.join(missing)}")
    return found
