"""Atomic outputs: every file and folder tinyc writes appears whole or not at all.

A file is written to a temporary sibling (same folder, so the rename cannot cross file systems), flushed and
fsynced, renamed over the destination with os.replace, and the folder is fsynced so the rename itself is
durable. A kill or a full disk at any point leaves the previous file as it was.

A folder is built as a temporary sibling and swapped in by two renames (old folder aside, new one in). A run
killed between them leaves no folder and both copies aside; the next write of that folder restores the old
copy first (`recover_folder`). Temporary names are `.NAME.tmp-PID-XXXX` and `.NAME.old-PID-XXXX`: only names of
exactly that form whose process is gone are ever removed, so another program's files and a concurrent tinyc
run's are left alone.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tinyc.errors import TinycError

_CHUNK = 1 << 20


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what open(path, "w") would give a new file


def _error(dest: Path, exc: OSError) -> TinycError:
    return TinycError(f"cannot write {dest}: {exc.strerror or exc}")


def _temp_name(dest: Path, kind: str, suffix: str = "") -> Path:
    return dest.with_name(f".{dest.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def _is_ours(entry: str, name: str, kind: str) -> bool:
    """A temp name of tinyc's exact form whose process no longer runs."""
    found = re.fullmatch(rf"\.{re.escape(name)}\.{kind}-(\d+)-[0-9a-f]{{8}}.*", entry)
    if found is None:
        return False
    pid = int(found.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _stale(dest: Path, kind: str) -> list[Path]:
    try:
        entries = os.listdir(dest.parent)
    except OSError:
        return []
    return sorted(dest.parent / e for e in entries if _is_ours(e, dest.name, kind))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_fd(path: Path, data: bytes, mode: int) -> None:
    """Create `path` (which must not exist), write all of `data`, fsync and close."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view[:_CHUNK]):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _mode_for(dest: Path) -> int:
    try:
        return os.stat(dest).st_mode & 0o7777
    except OSError:
        return _MODE


def _check_dest(dest: Path) -> None:
    if dest.is_dir():
        raise TinycError(f"cannot write {dest}: it is a folder")
    if not dest.parent.is_dir():
        raise TinycError(f"cannot write {dest}: no folder {dest.parent}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path in the destination's folder for a writer that wants a file name (np.save, a
    flatbuffer writer, ...); on a clean exit it is fsynced and renamed over `path`, on any error removed."""
    dest = Path(path)
    _check_dest(dest)
    for old in _stale(dest, "tmp"):
        _remove(old)
    tmp = _temp_name(dest, "tmp", dest.suffix)  # kept, so writers that add one (np.save: .npy) add none
    try:
        yield tmp
        if not tmp.is_file():
            raise TinycError(f"cannot write {dest}: the writer made no file")
        os.chmod(tmp, _mode_for(dest))
        _fsync_file(tmp)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, OSError):
            raise _error(dest, exc) from None
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    """Replace the file `path` by `data`, all at once."""
    dest = Path(path)
    _check_dest(dest)
    for old in _stale(dest, "tmp"):
        _remove(old)
    tmp = _temp_name(dest, "tmp")
    try:
        _write_fd(tmp, bytes(data), _mode_for(dest))
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, OSError):
            raise _error(dest, exc) from None
        raise


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    write_bytes(path, text.encode(encoding))


def save_numpy(path: str | Path, data: np.ndarray | Mapping[str, np.ndarray]) -> None:
    """One array as .npy, or named arrays as an uncompressed .npz, written to exactly `path`."""
    buf = io.BytesIO()
    if isinstance(data, Mapping):
        np.savez(buf, **data)
    else:
        np.save(buf, np.asarray(data), allow_pickle=False)
    write_bytes(path, buf.getvalue())


def recover_folder(dest: Path) -> None:
    """Undo what a tinyc run killed while replacing `dest` left: restore the old copy if `dest` is missing,
    then remove tinyc's stale temporary siblings of `dest`."""
    if not dest.exists():
        for old in reversed(_stale(dest, "old")):  # the newest first (sorted by name: pid, then random)
            inner = old / "x"
            if inner.is_dir():
                os.replace(inner, dest)
                fsync_dir(dest.parent)
                break
    for stale in _stale(dest, "old") + _stale(dest, "tmp"):
        _remove(stale)


def replace_folder(dest: Path, files: Mapping[str, str | bytes]) -> None:
    """Make `dest` a folder holding exactly `files` (name -> contents), replacing any folder there. The caller
    has run recover_folder and checked that replacing the folder is allowed. On any failure the previous folder
    (or nothing) is left."""
    parent = dest.parent
    tmp = _temp_name(dest, "tmp")
    try:
        os.mkdir(tmp)
    except OSError as exc:
        raise TinycError(f"cannot write to folder {dest}: {exc.strerror or exc}") from None
    old: Path | None = None
    try:
        for name, data in files.items():  # a name may hold subfolders ("src/m.c"), made inside tmp
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            _write_fd(tmp / name, data.encode("utf-8") if isinstance(data, str) else bytes(data), _MODE)
        for folder in sorted({(tmp / name).parent for name in files}, reverse=True):
            fsync_dir(folder)
        if dest.exists():
            old = _temp_name(dest, "old")
            os.mkdir(old, 0o700)
            os.replace(dest, old / "x")
        os.replace(tmp, dest)
        fsync_dir(parent)
    except BaseException as exc:
        _remove(tmp)
        if old is not None and (old / "x").exists() and not dest.exists():
            try:
                os.replace(old / "x", dest)
            except OSError:
                pass  # recover_folder restores it on the next run
        if old is not None and dest.exists():  # old is empty again, or holds the copy the new one replaced
            _remove(old)
        if isinstance(exc, OSError):
            raise TinycError(f"cannot write to folder {dest}: {exc.strerror or exc}") from None
        raise
    if old is not None:
        _remove(old)
