"""Write a folder all at once (tinyc.atomic.replace_folder), replacing only an earlier tinyc output."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tinyc.atomic import recover_folder, replace_folder
from tinyc.errors import TinycError

MARKER = "report.json"  # a folder holding a tinyc report.json may be replaced; any other non-empty one not


def _is_replaceable(folder: Path) -> bool:
    if not any(folder.iterdir()):
        return True
    try:
        doc = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and str(doc.get("generator", "")).startswith("tinyc")


def write_folder(out_dir: Path, files: dict[str, str]) -> None:
    """Create out_dir holding exactly `files`; replace an earlier tinyc output there.

    On any failure nothing partial is left behind: either the old folder (if any) or nothing; what a killed
    run left is restored or removed first.
    """
    out_dir = Path(os.path.abspath(out_dir))
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        recover_folder(out_dir)
    except OSError as exc:
        raise TinycError(f"cannot write to folder {out_dir.parent}: {exc.strerror or exc}") from None
    if out_dir.exists() and not out_dir.is_dir():
        raise TinycError(f"output folder {out_dir} exists and is not a folder")
    if out_dir.is_dir() and not _is_replaceable(out_dir):
        raise TinycError(f"output folder {out_dir} exists and is not a tinyc output; not replacing it")
    replace_folder(out_dir, files)
