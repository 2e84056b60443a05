"""``tinyc firmware CHECKPOINT.bin``: a PlatformIO project in which a llama2.c language model tells its story
on a board, as ``tinyc generate`` does on the host.

Like a model project (tinyc.platformio.firmware) it has the board's real environment and, for an emulated
board, its ``-qemu`` twin, the same ports in src/ and the decoder library in lib/model; the app is the
generated story main (src/main.c, built as ``tinyc_app_main``, which every port calls) instead of
tinyc_app.c, and there is no glue script, inputs or Unity test.
"""

from __future__ import annotations

from pathlib import Path

from tinyc.boards import load_board
from tinyc.codegen.output import write_folder
from tinyc.errors import InputError
from tinyc.platformio.devplatform import write_if_changed
from tinyc.platformio.firmware import LIB_DIR, FirmwareProject, _check_target
from tinyc.platformio.project import (
    APP_FILES,
    GITIGNORE,
    default_env,
    render_platformio_ini,
    write_emulation,
)
from tinyc.resources import firmware_dir

LLM_ENV = (
    "monitor_speed = 115200",
    "; src/main.c is the story main of the model in lib/model, called by the port as tinyc_app_main",
    "build_flags = -DTINYC_LLM_MAIN=tinyc_app_main",
)
APP = "tinyc_app.c"  # the model app the story main replaces


def create_llm_firmware(model: str | Path, board_id: str, out: str | Path, tokenizer_path: str | Path, *,
                        prompt: str = "", steps: int = 256, quant: str = "int8") -> FirmwareProject:
    """Write (or update) the project ``out`` that runs ``steps`` positions of the checkpoint ``model`` from
    ``prompt`` (greedy) on ``board_id`` and prints the text, as ``tinyc generate --quant QUANT``."""
    from tinyc.llm import QuantScheme, Tokenizer, load_checkpoint, lower
    from tinyc.llm.codegen import write_main
    from tinyc.llm.library import checkpoint_files
    from tinyc.targets import check_fit

    out, model = Path(out), Path(model)
    _check_target(out)
    board = load_board(board_id)
    ckpt = load_checkpoint(model)
    tok = Tokenizer.load(Path(tokenizer_path))
    tok.check_vocab(ckpt.config.vocab_size, str(model))
    if steps <= 0:
        raise InputError(f"--steps {steps}: must be positive")
    steps = min(steps, ckpt.config.seq_len)
    ids = tok.encode(prompt, bos=True)
    if len(ids) > steps:
        raise InputError(f"the prompt is {len(ids)} tokens, more than --steps {steps}")
    plan = lower(ckpt, QuantScheme.named(quant), context=steps, name="model")
    check_fit(board, plan.weight_bytes, plan.arena_bytes)
    files, _ = checkpoint_files(plan, tok, board.id, model.name, main=False)
    write_folder(out / LIB_DIR, files)
    ini = render_platformio_ini([board], default_env(board), f"{model.name} on {board.id}",
                                env_lines=LLM_ENV)
    write_if_changed(out / "platformio.ini", ini)
    write_if_changed(out / ".gitignore", GITIGNORE)
    for name in APP_FILES:
        if name != APP:
            write_if_changed(out / "src" / name, (firmware_dir() / "src" / name).read_text())
    write_main(plan, out / "src", prompt=ids, steps=steps, has_tokenizer=True, host_port=False)
    write_emulation(out, [board])
    return FirmwareProject(out, board, plan.name, default_env(board), 0, 0)
