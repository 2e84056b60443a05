"""Write a folder all at once: into a temporary sibling, then renamed into place."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

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

    On any failure nothing partial is left behind: either the old folder (if any) or nothing.
    """
    out_dir = Path(os.path.abspath(out_dir))
    parent = out_dir.parent
    if out_dir.exists() and not out_dir.is_dir():
        raise TinycError(f"output folder {out_dir} exists and is not a folder")
    if out_dir.is_dir() and not _is_replaceable(out_dir):
        raise TinycError(f"output folder {out_dir} exists and is not a tinyc output; not replacing it")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=parent))
    except OSError as exc:
        raise TinycError(f"cannot write to folder {parent}: {exc.strerror or exc}") from None
    old: Path | None = None
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=parent))
            os.replace(out_dir, old / "x")
        os.replace(tmp, out_dir)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and (old / "x").exists() and not out_dir.exists():
            os.replace(old / "x", out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if isinstance(exc, OSError):
            raise TinycError(f"cannot write to folder {out_dir}: {exc.strerror or exc}") from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
