"""Atomic outputs: a failure at any system call of an output write (a full disk, Ctrl-C) leaves the previous
output byte-identical (or the new one whole) and no temporary file; a run killed between compile's two folder
renames is restored or cleaned by the next run."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import tinyc.atomic
from tests.helpers import invoke
from tinyc.errors import TinycError

REPO = Path(__file__).resolve().parents[1]
SINE = REPO / "examples" / "sine.onnx"
CALLS = ("open", "write", "fsync", "close", "replace", "mkdir")  # the system calls tinyc.atomic makes


class _Injector:
    """Counts the os calls made from tinyc.atomic (only those named `only`, if given); raises `exc` at call
    number `at` (1-based, 0 = never)."""

    def __init__(self, at: int = 0, exc: BaseException | None = None, only: str | None = None):
        self.at, self.exc, self.only, self.count, self.hit = at, exc, only, 0, ""

    def wrap(self, name: str, real: Callable) -> Callable:
        def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            if sys._getframe(1).f_globals.get("__name__") != "tinyc.atomic" or self.only not in (None, name):
                return real(*args, **kwargs)
            self.count += 1
            if self.count == self.at:
                self.hit = name
                if name == "close":  # the descriptor is gone whatever close reports
                    real(*args, **kwargs)
                raise self.exc
            return real(*args, **kwargs)
        return call


@contextmanager
def _inject(monkeypatch: pytest.MonkeyPatch, at: int = 0, exc: BaseException | None = None,
            only: str | None = None) -> Iterator[_Injector]:
    inj = _Injector(at, exc, only)
    with monkeypatch.context() as m:
        for name in CALLS:
            m.setattr(os, name, inj.wrap(name, getattr(os, name)))
        yield inj


def _tree(path: Path) -> dict[str, bytes | None]:
    """Every entry under `path` (hidden ones too): relative name -> bytes (None for a folder)."""
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): None if p.is_dir() else p.read_bytes() for p in sorted(path.rglob("*"))}


def _restore(path: Path, tree: dict[str, bytes | None]) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    if "" in tree:
        path.write_bytes(tree[""])
        return
    path.mkdir()
    for name, data in tree.items():
        (path / name).mkdir() if data is None else (path / name).write_bytes(data)


def _sine_inputs(path: Path, lo: float, hi: float, n: int) -> Path:
    np.save(path, np.linspace(lo, hi, n, dtype=np.float32).reshape(n, 1, 1))
    return path


def _commands(tmp: Path) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """name -> (arguments of the first run, of the replacing run, the outputs both write)."""
    a, b = str(_sine_inputs(tmp / "a.npy", 0, 3, 16)), str(_sine_inputs(tmp / "b.npy", 3, 6, 12))
    model = str(SINE)
    return {
        "run": (["run", model, "-i", a, "-o", "y.npy", "--report", "r.json"],
                ["run", model, "-i", b, "-o", "y.npy", "--report", "r.json"], ["y.npy", "r.json"]),
        "quantize": (["quantize", model, "--calib", a, "-o", "q.tflite", "--report", "q.json"],
                     ["quantize", model, "--calib", b, "-o", "q.tflite", "--report", "q.json"],
                     ["q.tflite", "q.json"]),
        "prune": (["prune", model, "--sparsity", "0.25", "-o", "p.tflite", "--report", "p.md"],
                  ["prune", model, "--sparsity", "0.75", "-o", "p.tflite", "--report", "p.md"],
                  ["p.tflite", "p.md"]),
        "compile": (["compile", model, "-o", "lib", "--name", "first"],
                    ["compile", model, "-o", "lib", "--name", "second"], ["lib"]),
    }


@pytest.mark.parametrize("command", ["run", "quantize", "prune", "compile"])
def test_failure_at_every_call_keeps_the_previous_output(command: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, outputs = _commands(tmp_path)[command]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, err, _ = invoke(*second)
    assert code == 0, err
    new = {o: _tree(work / o) for o in outputs}
    code, err, _ = invoke(*first)
    assert code == 0, err
    old = {o: _tree(work / o) for o in outputs}
    assert all(old[o] != new[o] for o in outputs)
    with _inject(monkeypatch) as counter:
        code, err, _ = invoke(*second)
    assert code == 0, err
    calls = counter.count
    assert calls >= 5 * len(outputs)
    for o in outputs:
        _restore(work / o, old[o])
    kept = 0
    for at in range(1, calls + 1):
        for exc in (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), KeyboardInterrupt()):
            with _inject(monkeypatch, at, exc) as inj:
                code, err, _ = invoke(*second)
            where = f"{type(exc).__name__} at call {at} ({inj.hit})"
            assert inj.hit, where
            assert sorted(os.listdir(work)) == sorted(outputs), where  # no temporary file left
            states = [_tree(work / o) for o in outputs]
            assert all(s in (old[o], new[o]) for s, o in zip(states, outputs, strict=True)), where
            if states[0] == old[outputs[0]]:
                assert code != 0, where
                kept += 1
            if isinstance(exc, OSError) and code != 0:
                assert code == 2 and len(err.splitlines()) == 1 and "No space left on device" in err, where
                assert any(o in err for o in outputs), where  # the message names the destination
            for o in outputs:
                _restore(work / o, old[o])
    assert kept >= 2 * 3  # the failures before the first output's rename (open, write, fsync at least)


_KILL_BETWEEN_RENAMES = """
import os, signal, sys
import tinyc.atomic
real = os.replace
def replace(src, dst):
    real(src, dst)
    if os.path.basename(os.fspath(dst)) == "x":  # the old folder moved aside; the new one not in yet
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
from tinyc.cli import main
main(sys.argv[1:])
"""

_KILL_MID_WRITE = """
import os, signal, sys
real = os.write
def write(fd, data):
    if sys._getframe(1).f_globals.get("__name__") == "tinyc.atomic":
        real(fd, bytes(data)[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return real(fd, data)
os.write = write
from tinyc.cli import main
main(sys.argv[1:])
"""


def _killed(script: str, args: list[str], cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], cwd=cwd, capture_output=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()


def test_compile_killed_between_the_renames_is_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, _ = _commands(tmp_path)["compile"]
    monkeypatch.chdir(tmp_path)
    assert invoke(*first)[0] == 0
    old = _tree(tmp_path / "lib")
    _killed(_KILL_BETWEEN_RENAMES, second, tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".lib."))
    assert not (tmp_path / "lib").exists()
    assert [n.split("-")[0] for n in left] == [".lib.old", ".lib.tmp"], left  # the state the issue reports
    tinyc.atomic.recover_folder(tmp_path / "lib")  # what the next compile into lib does first
    assert _tree(tmp_path / "lib") == old
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".lib.")]

    # killed again, then a later compile that fails writing: the old folder is back, nothing else is left
    _killed(_KILL_BETWEEN_RENAMES, second, tmp_path)
    with _inject(monkeypatch, 1, OSError(errno.ENOSPC, "No space left on device"), only="write"):
        code, err, _ = invoke(*second)
    assert code == 2 and "lib" in err, err
    assert _tree(tmp_path / "lib") == old
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".lib.")]

    # killed again, then a later compile that succeeds: the new folder, nothing else
    _killed(_KILL_BETWEEN_RENAMES, second, tmp_path)
    assert invoke(*second)[0] == 0
    assert "second.c" in os.listdir(tmp_path / "lib")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".lib.")]


def test_run_killed_mid_write_keeps_the_file_and_the_next_run_cleans(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, _ = _commands(tmp_path)["run"]
    monkeypatch.chdir(tmp_path)
    assert invoke(*first)[0] == 0
    old = (tmp_path / "y.npy").read_bytes()
    _killed(_KILL_MID_WRITE, second, tmp_path)
    assert (tmp_path / "y.npy").read_bytes() == old
    assert [p.name for p in tmp_path.glob(".y.npy.tmp-*")]  # half a temporary file, the real one untouched
    assert invoke(*second)[0] == 0
    assert (tmp_path / "y.npy").read_bytes() != old
    assert not list(tmp_path.glob(".*"))


def test_recovery_touches_only_tinyc_temp_names_of_dead_processes(tmp_path: Path) -> None:
    dest = tmp_path / "lib"
    dest.mkdir()
    (dest / "a").write_text("current")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    keep = [f".lib.old-{os.getpid()}-0123abcd", f".lib.tmp-{os.getppid()}-0123abcd", ".lib.old-x",
            f".lib.tmp-{dead}", f".lib.tmp-{dead}-notahex0", f".lib2.tmp-{dead}-0123abcd", "lib.old-1-0123abcd"]
    gone = [f".lib.old-{dead}-0123abcd", f".lib.tmp-{dead}-89abcdef"]
    for name in keep + gone:
        (tmp_path / name).mkdir()
    tinyc.atomic.recover_folder(dest)
    assert sorted(os.listdir(tmp_path)) == sorted(["lib", *keep])
    assert (dest / "a").read_text() == "current"


def test_file_writes_keep_mode_and_name_the_destination(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text("old")
    out.chmod(0o640)
    tinyc.atomic.write_text(out, "new")
    assert out.read_text() == "new" and out.stat().st_mode & 0o777 == 0o640
    with pytest.raises(TinycError, match="cannot write .*missing/x.npy: no folder"):
        tinyc.atomic.save_numpy(tmp_path / "missing" / "x.npy", np.zeros(3))
    with pytest.raises(TinycError, match="is a folder"):
        tinyc.atomic.write_bytes(tmp_path, b"")
    tinyc.atomic.save_numpy(tmp_path / "multi.npz", {"a": np.arange(3), "b": np.ones(2)})
    with np.load(tmp_path / "multi.npz") as z:
        assert z["a"].tolist() == [0, 1, 2] and z["b"].tolist() == [1.0, 1.0]
    with tinyc.atomic.atomic_path(tmp_path / "arr.npy") as tmp:
        np.save(tmp, np.arange(4))  # the temporary name keeps .npy, so np.save writes exactly it
    assert np.load(tmp_path / "arr.npy").tolist() == [0, 1, 2, 3]
    assert sorted(os.listdir(tmp_path)) == ["arr.npy", "multi.npz", "out.json"]
