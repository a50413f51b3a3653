"""The one write-then-switch helper: a reader never sees a folder or file half-written or gone.

A wrong product that still passes a weaker test: a switch that deletes the old folder
and then renames the new one in (a reader between the two finds nothing), or one that
renames into a non-empty folder's place file by file (a reader sees a mix).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from wetindex import atomicdir
from wetindex.atomicdir import new_file, read_json, swap, switched_dir, write_json, write_text

SWITCHES = 300


def _fill(folder: Path, version: int) -> None:
    # two files that must agree: a reader seeing one of each caught a mix of versions
    (folder / "a.txt").write_text(str(version))
    (folder / "b.txt").write_text(str(version))


def test_a_reader_during_switches_sees_the_old_or_the_new_folder_complete(tmp_path):
    final = tmp_path / "forecasts" / "20250101T0000Z"
    final.parent.mkdir()
    with switched_dir(final) as tmp:
        _fill(tmp, 0)
    seen: list[str] = []
    problems: list[str] = []
    stop = threading.Event()

    reads = [0]

    def read() -> None:
        while not stop.is_set():
            reads[0] += 1
            try:
                fd = os.open(final, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                problems.append("no folder at all")
                continue
            try:  # read both files through the one folder we opened
                a = os.open("a.txt", os.O_RDONLY, dir_fd=fd)
                b = os.open("b.txt", os.O_RDONLY, dir_fd=fd)
                va, vb = os.read(a, 16).decode(), os.read(b, 16).decode()
                os.close(a)
                os.close(b)
            except FileNotFoundError as err:
                problems.append(f"a file missing: {err}")
                continue
            finally:
                os.close(fd)
            if va != vb:
                problems.append(f"mixed versions {va} / {vb}")
            seen.append(va)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in range(1, SWITCHES + 1):
            with switched_dir(final) as tmp:
                _fill(tmp, version)
            # the next switch waits for a read begun after this one: each read overlaps
            # at most one switch (the kept-aside generation is what it may still hold)
            target, deadline = reads[0] + 2, time.monotonic() + 5
            while reads[0] < target and time.monotonic() < deadline:
                time.sleep(0.0001)
    finally:
        stop.set()
        reader.join()
    assert not problems, problems[:5]
    assert len(set(seen)) > 1, "the reader never saw a switch: the test proved nothing"
    assert (final / "a.txt").read_text() == str(SWITCHES)
    # beside it only the one generation it replaced, kept for readers that opened it
    left = sorted(p.name for p in final.parent.iterdir())
    assert len(left) == 2 and left[0].startswith(f".{final.name}.old-") and left[1] == final.name
    assert (final.parent / left[0] / "a.txt").read_text() == str(SWITCHES - 1)


def test_a_failed_write_leaves_the_old_folder_untouched(tmp_path):
    final = tmp_path / "static.zarr"
    with switched_dir(final) as tmp:
        _fill(tmp, 1)
    with pytest.raises(RuntimeError), switched_dir(final) as tmp:
        _fill(tmp, 2)
        raise RuntimeError("killed mid-write")
    assert (final / "a.txt").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["static.zarr"]


def test_replaced_folders_kept_aside_go_after_an_hour(tmp_path):
    final = tmp_path / "f"
    for version in (1, 2):
        with switched_dir(final) as tmp:
            _fill(tmp, version)
    (old,) = tmp_path.glob(".f.old-*")
    assert atomicdir.clean_leftovers(tmp_path) == [] and old.exists()
    os.utime(old, (0, 0))
    assert atomicdir.clean_leftovers(tmp_path) == [old] and not old.exists()


def test_swap_restores_the_old_folder_a_crash_left_aside(tmp_path, monkeypatch):
    # the fallback without renameat2 renames the old folder aside first; a crash after
    # that leaves no folder: the next swap must put the old one back before going on
    final = tmp_path / "f"
    final.mkdir()
    _fill(final, 1)
    aside = tmp_path / ".f.old-999999"
    os.replace(final, aside)
    new = tmp_path / "new"
    new.mkdir()
    _fill(new, 2)
    monkeypatch.setattr(atomicdir, "_exchange", lambda a, b: False)
    swap(new, final)
    assert (final / "a.txt").read_text() == "2"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left[1] == "f" and left[0].startswith(".f.old-")
    assert (tmp_path / left[0] / "a.txt").read_text() == "1"  # the restored one, now aside


def test_files_are_replaced_whole_with_the_mode_asked_for(tmp_path):
    path = tmp_path / "sub" / "status.json"
    write_json(path, {"a": float("nan"), "b": 1})
    assert read_json(path) == {"a": None, "b": 1}  # strict JSON: NaN never written
    assert path.stat().st_mode & 0o777 == 0o644
    write_text(path, "not json", mode=0o600)
    assert read_json(path) is None and path.stat().st_mode & 0o777 == 0o600
    assert read_json(tmp_path / "missing.json") is None
    with pytest.raises(OSError), new_file(path) as tmp:
        tmp.write_text("half")
        raise OSError("disk full")
    assert path.read_text() == "not json"
    assert sorted(p.name for p in path.parent.iterdir()) == ["status.json"]
