"""Issue #15: only complete releases go live or back; killed publishes leave nothing behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from site_inputs import synthetic_inputs

from wetindex.atomicdir import clean_leftovers as clean_tmp
from wetindex.atomicdir import swap
from wetindex.site import PublishError, build_site, publish_release
from wetindex.site import rollback as rollback_release
from wetindex.site.publish import COMPLETE, RELEASES, clean_leftovers, is_complete


@pytest.fixture(scope="module")
def template_site(tmp_path_factory, web_dir) -> Path:
    return build_site(tmp_path_factory.mktemp("template"), **synthetic_inputs())


def _copy_into(template: Path):
    def build(release: Path) -> None:
        shutil.copytree(template, release, dirs_exist_ok=True)
    return build


def _half_built(root: Path, stamp: str) -> Path:
    """What a publish killed mid-build leaves: a release folder with only static/."""
    release = root / RELEASES / stamp
    (release / "static").mkdir(parents=True)
    (release / "static" / "site.css").write_text("body{}")
    return release


def test_a_half_built_release_is_never_a_rollback_target(template_site, tmp_path):
    root = tmp_path / "www"
    first = publish_release(root, _copy_into(template_site))
    assert is_complete(first)
    half = _half_built(root, first.name[:-1] + "9Z-killed")  # sorts after the first
    second = publish_release(root, _copy_into(template_site))
    assert not half.exists(), "leftovers of a killed publish are cleaned"
    _half_built(root, first.name + "-killed")  # killed again, between first and second
    assert rollback_release(root) == first  # skips the incomplete one
    assert (root / "current").resolve() == first.resolve()
    with pytest.raises(PublishError, match="not a complete release"):
        rollback_release(root, to=first.name + "-killed")
    assert rollback_release(root, to=second.name) == second


def test_a_killed_switch_leaves_no_temporary_symlink(template_site, tmp_path):
    root = tmp_path / "www"
    publish_release(root, _copy_into(template_site))
    os.symlink("releases/nowhere", root / ".current.deadbeef")
    removed = clean_leftovers(root)
    assert root / ".current.deadbeef" in removed and not list(root.glob(".current.*"))


def test_the_marker_is_written_after_the_check(template_site, tmp_path, monkeypatch):
    root = tmp_path / "www"
    seen = []

    def check(release):
        seen.append((release / COMPLETE).exists())
    monkeypatch.setattr("wetindex.site.publish.check_site", check)
    release = publish_release(root, _copy_into(template_site))
    assert seen == [False] and is_complete(release)


def test_forecast_folders_are_swapped_never_missing(tmp_path):
    final = tmp_path / "20250609T0000Z"
    final.mkdir()
    (final / "forecast.nc").write_text("old")
    tmp = tmp_path / ".20250609T0000Z.tmp-1"
    tmp.mkdir()
    (tmp / "forecast.nc").write_text("new")
    swap(tmp, final)
    assert (final / "forecast.nc").read_text() == "new" and not tmp.exists()
    # a fallback swap killed between its two renames: the old folder is put back
    (tmp_path / ".20250609T0000Z.old-1").mkdir()
    shutil.rmtree(final)
    tmp2 = tmp_path / ".20250609T0000Z.tmp-2"
    tmp2.mkdir()
    (tmp2 / "forecast.nc").write_text("newer")
    swap(tmp2, final)
    assert (final / "forecast.nc").read_text() == "newer"
    # the replaced folder stays aside one generation, for readers that opened it
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left[1] == "20250609T0000Z" and left[0].startswith(".20250609T0000Z.old-")


def test_temporary_folders_of_dead_processes_are_removed(tmp_path):
    dead = tmp_path / ".20250609T0000Z.tmp-999999999"
    dead.mkdir()
    mine = tmp_path / f".20250609T0300Z.tmp-{os.getppid()}"  # a live process's: kept
    mine.mkdir()
    assert clean_tmp(tmp_path) == [dead] and mine.exists()
