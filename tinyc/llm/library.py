"""`tinyc compile` for a language-model checkpoint: the decoder library (step API) and a firmware-style
main that prints the story, written atomically like every tinyc output, with a report.json."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tinyc import __version__
from tinyc.codegen.library import library_json
from tinyc.codegen.output import write_folder
from tinyc.codegen.render import environment
from tinyc.llm.checkpoint import load_checkpoint
from tinyc.llm.codegen import write_c, write_main
from tinyc.llm.plan import LlmPlan, lower
from tinyc.llm.quant import QuantScheme
from tinyc.llm.tokenizer import Tokenizer


def is_checkpoint(path: Path) -> bool:
    """llama2.c checkpoints (.bin) have no magic number: they are told apart by name, then checked by size.
    A PyTorch .pt/.pth stays with the model frontends; its llama-style weights enter through the Python API
    (tinyc.llm.load_torch) or `tinyc generate`."""
    return path.suffix == ".bin"


def compile_checkpoint(model: Path, out_dir: Path, board_id: str = "host", quant: str = "int8",
                       context: int = 256, tokenizer_path: Path | None = None, name: str = "model") -> dict:
    ckpt = load_checkpoint(model)
    tokenizer = Tokenizer.load(tokenizer_path) if tokenizer_path is not None else None
    plan = lower(ckpt, QuantScheme.named(quant), context=min(context, ckpt.config.seq_len), name=name)
    if board_id != "host":
        from tinyc.boards import load_board
        from tinyc.targets import check_fit

        check_fit(load_board(board_id), plan.weight_bytes, plan.arena_bytes)
    files, report = checkpoint_files(plan, tokenizer, board_id, model.name)
    write_folder(out_dir, files)
    return report


def checkpoint_files(plan: LlmPlan, tokenizer: Tokenizer | None, board_id: str, source: str,
                     main: bool = True) -> tuple[dict[str, str], dict]:
    """The library's files (with `main`: also the story main.c and its host port) and its report."""
    with tempfile.TemporaryDirectory(prefix="tinyc-llm-") as tmp:
        paths = write_c(plan, tmp, tokenizer)
        if main:
            paths += write_main(plan, tmp, steps=plan.context, has_tokenizer=tokenizer is not None)
        files = {p.name: p.read_text() for p in paths}
    files |= build_files(plan.name)
    report = {"generator": f"tinyc {__version__}", "name": plan.name, "source": source, "board": board_id,
              "quant": plan.scheme.tag, "files": sorted([*files, "report.json"]), **plan.memory_report()}
    files["report.json"] = json.dumps(report, indent=1) + "\n"
    return files, report


HOST_STORY = """
# The story on this machine: main.c with the hosted port (stdout).
add_executable({name}_story main.c port_host.c)
target_link_libraries({name}_story PRIVATE {name} m)
set_target_properties({name}_story PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options({name}_story PRIVATE -ffp-contract=off)
endif()
"""


def build_files(name: str) -> dict[str, str]:
    """library.json (the decoder `<name>.c` is the PlatformIO library; main.c and the ports are an app that
    uses it) and CMakeLists.txt (the static library, and the host story program)."""
    cmake = environment().get_template("CMakeLists.txt.j2").render(name=name, version=__version__)
    return {"library.json": library_json(name, f"{name}: llama2.c language model compiled to C99 by tinyc "
                                         "(no heap)", sources=f"{name}.c"),
            "CMakeLists.txt": cmake + HOST_STORY.format(name=name)}
