"""Switch a freshly written folder in place of an old one, atomically.

On Linux ``renameat2(RENAME_EXCHANGE)`` swaps two paths in one step, so a reader (or
a crash) sees either the old folder or the new one, never neither. Elsewhere the old
folder is first renamed aside and the new one renamed in: a crash between the two
leaves the old one beside the target (``.<name>.old-<pid>``), which
:func:`swap` restores on the next call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import sys
from pathlib import Path

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
    """Put folder ``tmp`` at ``final``; the old ``final`` (if any) is removed afterwards."""
    tmp, final = Path(tmp), Path(final)
    aside = final.with_name(f".{final.name}.old-{os.getpid()}")
    for left in final.parent.glob(f".{final.name}.old-*"):  # a crash mid-way before
        if not final.exists():
            os.replace(left, final)
        else:
            shutil.rmtree(left, ignore_errors=True)
    if not final.exists():
        os.replace(tmp, final)
        return final
    if _exchange(tmp, final):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old folder
        return final
    os.replace(final, aside)
    os.replace(tmp, final)
    shutil.rmtree(aside, ignore_errors=True)
    return final


def clean_leftovers(parent: Path) -> list[Path]:
    """Remove ``.<name>.tmp-<pid>`` folders and files of processes no longer running."""
    removed = []
    for left in Path(parent).glob(".*.tmp-*") if Path(parent).is_dir() else []:
        pid = left.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        if left.is_dir() and not left.is_symlink():
            shutil.rmtree(left, ignore_errors=True)
        else:
            left.unlink(missing_ok=True)
        removed.append(left)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
