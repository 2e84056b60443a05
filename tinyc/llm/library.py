"""`tinyc compile` for a language-model checkpoint: the decoder library (step API) and a firmware-style
main that prints the story, written atomically like every tinyc output, with a report.json."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tinyc import __version__
from tinyc.codegen.output import write_folder
from tinyc.llm.checkpoint import load_checkpoint
from tinyc.llm.codegen import write_c, write_main
from tinyc.llm.plan import lower
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
    with tempfile.TemporaryDirectory(prefix="tinyc-llm-") as tmp:
        paths = write_c(plan, tmp, tokenizer)
        paths += write_main(plan, tmp, steps=plan.context, has_tokenizer=tokenizer is not None)
        files = {p.name: p.read_text() for p in paths}
    report = {"generator": f"tinyc {__version__}", "name": name, "source": model.name, "board": board_id,
              "quant": plan.scheme.tag, "files": sorted([*files, "report.json"]), **plan.memory_report()}
    files["report.json"] = json.dumps(report, indent=1) + "\n"
    write_folder(out_dir, files)
    return report
