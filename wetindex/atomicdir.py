"""Write-then-switch: the one way wetindex replaces a file or a folder others may read.

A file is written to a temporary name beside it and renamed over it with
``os.replace`` (:func:`write_bytes`, :func:`write_text`, :func:`write_json`,
:func:`new_file` for writers that want a path). A folder is written under a temporary
name (:func:`fresh_dir`, or :func:`switched_dir` for both steps) and switched in with
:func:`swap`.

On Linux ``renameat2(RENAME_EXCHANGE)`` swaps two paths in one step, so a reader (or
a crash) sees either the old folder or the new one, never neither. Elsewhere the old
folder is first renamed aside and the new one renamed in: a crash between the two
leaves the old one beside the target (``.<name>.old-<pid>-<ns>``), which
:func:`swap` restores on the next call.

The replaced folder is not deleted at once: it stays aside for one generation, so a
reader that opened it (a folder descriptor, or a resolved path) just before the switch
still reads it whole. The next :func:`swap` of the same name deletes it, and
:func:`clean_leftovers` deletes any older than an hour. A reader that needs several
files of one version opens the folder once and reads them through it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wetindex import jsonutil

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically; False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def swap(tmp: Path, final: Path) -> Path:
    """Put folder ``tmp`` at ``final`` in one step; the old ``final`` stays aside one generation."""
    tmp, final = Path(tmp), Path(final)
    aside = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
    kept = final.parent.glob(f".{final.name}.old-*")
    for left in sorted(kept, key=lambda p: p.lstat().st_mtime, reverse=True):  # newest first
        if not final.exists():  # a crash between the fallback's two renames: put it back
            os.replace(left, final)
        else:  # the generation before the current one: nobody can still be reading it
            shutil.rmtree(left, ignore_errors=True)
    if not final.exists():
        os.replace(tmp, final)
        return final
    if _exchange(tmp, final):
        os.replace(tmp, aside)  # tmp now holds the old folder; keep it for its readers
        return final
    os.replace(final, aside)
    os.replace(tmp, final)
    return final


def fresh_dir(final: Path) -> Path:
    """A new, empty temporary folder beside ``final`` (``.<name>.tmp-<pid>``) for :func:`swap`."""
    final = Path(final)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


@contextmanager
def switched_dir(final: Path) -> Iterator[Path]:
    """Yield a fresh folder to fill; on success it is switched in at ``final`` (:func:`swap`),
    on an error it is removed and the old ``final`` stays as it was."""
    tmp = fresh_dir(final)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap(tmp, final)


@contextmanager
def new_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that wants a file name
    (``to_netcdf``, ``to_raster``, ``to_zarr``); on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    try:
        yield tmp
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_bytes(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` through a synced temporary file and ``os.replace``.

    The file gets ``mode`` (default world-readable: a published file is read by the web
    server, another user; ``mkstemp`` alone would make it 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str, mode: int = 0o644) -> Path:
    """:func:`write_bytes` of ``text`` in UTF-8."""
    return write_bytes(path, text.encode("utf-8"), mode)


def write_json(path: Path, data: Any) -> Path:
    """:func:`write_text` of strict JSON (:func:`wetindex.jsonutil.dumps`, indented)."""
    return write_text(path, jsonutil.dumps(data, indent=2))


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or ``None`` when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def clean_leftovers(parent: Path, old_after_s: float = 3600.0) -> list[Path]:
    """Remove ``.<name>.tmp-<pid>`` folders and files of processes no longer running, and
    replaced folders kept aside (``.<name>.old-*``) for longer than ``old_after_s``."""
    removed = []
    parent = Path(parent)
    if not parent.is_dir():
        return removed
    for left in parent.glob(".*.tmp-*"):
        pid = left.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        _remove(left)
        removed.append(left)
    for old in parent.glob(".*.old-*"):
        if time.time() - old.lstat().st_mtime > old_after_s:
            _remove(old)
            removed.append(old)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
