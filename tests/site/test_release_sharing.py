"""Site releases share unchanged files (hard links to one content) instead of copies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from site_inputs import synthetic_inputs

from wetindex.site import build_site
from wetindex.site.publish import SHARED, publish_release, rollback, share_unchanged

TEMPLATE: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def template_site(tmp_path_factory, web_dir) -> Path:
    TEMPLATE.append(build_site(tmp_path_factory.mktemp("template"), **synthetic_inputs()))
    yield TEMPLATE[-1]
    TEMPLATE.clear()


def _site(release: Path, forecast_bytes: bytes) -> None:
    """A built site with a large unchanged asset and a per-forecast download."""
    shutil.copytree(TEMPLATE[-1], release, dirs_exist_ok=True)
    (release / "static" / "app.js").write_bytes(b"// vendored\n" * 2000)
    (release / "downloads").mkdir(exist_ok=True)
    (release / "downloads" / "probability.tif").write_bytes(forecast_bytes)


def test_second_release_links_unchanged_files_and_keeps_its_content(tmp_path):
    root = tmp_path / "site"
    one = publish_release(root, lambda d: _site(d, b"A" * 10_000), keep=5)
    two = publish_release(root, lambda d: _site(d, b"A" * 10_000), keep=5)
    three = publish_release(root, lambda d: _site(d, b"B" * 10_000), keep=5)
    for rel in ("static/app.js", "downloads/probability.tif"):
        assert os.path.samefile(one / rel, two / rel)  # one inode, not a copy
    assert os.path.samefile(one / "static/app.js", three / "static/app.js")
    assert not os.path.samefile(two / "downloads/probability.tif",
                                three / "downloads/probability.tif")
    # every release still reads as what was built into it
    assert (two / "downloads/probability.tif").read_bytes() == b"A" * 10_000
    assert (three / "downloads/probability.tif").read_bytes() == b"B" * 10_000
    assert (three / "static/app.js").read_bytes() == b"// vendored\n" * 2000
    assert (one / "index.html").read_text() == (three / "index.html").read_text()
    assert rollback(root) == two
    assert (root / "current" / "downloads/probability.tif").read_bytes() == b"A" * 10_000


def test_pruned_releases_free_their_contents(tmp_path):
    root = tmp_path / "site"
    for i in range(4):
        publish_release(root, lambda d, i=i: _site(d, bytes([65 + i]) * 10_000), keep=2)
    releases = sorted((root / "releases").iterdir())
    assert len(releases) == 2
    linked = {os.stat(p).st_ino for r in releases for p in r.rglob("*")
              if p.is_file() and p.stat().st_size >= 4096}
    kept = {p.stat().st_ino for p in (root / SHARED).iterdir()}
    # exactly the contents the two live releases use: the older downloads are gone
    assert kept == linked
    assert sum(p.read_bytes() in (b"A" * 10_000, b"B" * 10_000)
               for p in (root / SHARED).iterdir()) == 0


def test_sharing_reports_what_was_not_stored_again(tmp_path):
    root = tmp_path / "site"
    a, b = root / "a", root / "b"
    for d in (a, b):
        _site(d, b"C" * 8192)
    assert share_unchanged(root, a) == (0, 0)
    big = [p for p in a.rglob("*") if p.is_file() and p.stat().st_size >= 4096]
    files, size = share_unchanged(root, b)
    assert files == len(big) and size == sum(p.stat().st_size for p in big)
